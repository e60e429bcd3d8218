import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import 'vitest';
import { startStack, stackDir } from '../scripts/stack';
import { ensureAptPackages } from '../scripts/ensure-apt';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Temporal dev server this run started (or TEMPORAL_ADDRESS). */
    temporalAddress: string;
    /** Web UI of that dev server ('' when TEMPORAL_ADDRESS points elsewhere). */
    temporalUiUrl: string;
    /** Prometheus endpoint of that dev server ('' when TEMPORAL_ADDRESS points elsewhere). */
    temporalMetricsUrl: string;
    /** Executable of the time-skipping test server. */
    testServerPath: string;
    /** Bootstrap brokers of the Kafka broker this run started (or KAFKA_BROKERS). */
    kafkaBrokers: string[];
    /** Path of the workflow bundle built once for the run. */
    workflowBundlePath: string;
  }
}

/**
 * Starts the real components once for the whole run. Tests never skip for want of a component: if one cannot be
 * provisioned the run fails here, saying which and why.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  // Debian packages the ops tests drive (browser test, compose validation); installed once, quick when present.
  ensureAptPackages(['docker-compose', 'chromium']);
  const stack = await startStack({ mode: 'test', testServer: true, requireKafka: true });
  const bundleDir = path.join(stackDir, 'runs', `bundle-${process.pid}`);
  mkdirSync(bundleDir, { recursive: true });
  const workflowBundlePath = path.join(bundleDir, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, '../workflows') });
  writeFileSync(workflowBundlePath, code);
  console.log(`[test] stack ready in ${Date.now() - started} ms`);

  project.provide('temporalAddress', stack.temporalAddress);
  project.provide('temporalUiUrl', stack.temporalUiUrl ?? '');
  project.provide('temporalMetricsUrl', stack.temporalMetricsUrl ?? '');
  project.provide('testServerPath', stack.testServerPath!);
  project.provide('kafkaBrokers', stack.kafkaBrokers!);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await stack.stop();
    rmSync(bundleDir, { recursive: true, force: true });
  };
}
