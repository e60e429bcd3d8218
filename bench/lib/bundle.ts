import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

const repoRoot = path.resolve(__dirname, '..', '..');
const bundles = new Map<string, Promise<string>>();

/** Bundles a workflows module once per process into a temp file and returns its path (reused by every worker). */
function bundleOnce(name: string, workflowsPath: string): Promise<string> {
  let bundle = bundles.get(name);
  if (!bundle) {
    bundle = (async () => {
      const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
      const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-bundle-')), `${name}.js`);
      writeFileSync(file, code);
      return file;
    })();
    bundles.set(name, bundle);
  }
  return bundle;
}

const quiet = () => undefined;
const quietBundlerLogger = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error, log: quiet };

/** Path of the bundle of our workflows (workflows/), built once per process. */
export function ourWorkflowBundle(): Promise<string> {
  return bundleOnce('retry-service', path.join(repoRoot, 'workflows'));
}

/** Path of the bundle of the comparison workflows (bench/baseline/workflows.ts), built once per process. */
export function baselineWorkflowBundle(): Promise<string> {
  return bundleOnce('baseline', path.join(repoRoot, 'bench', 'baseline', 'workflows.ts'));
}
