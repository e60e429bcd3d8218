import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ProvisioningError, which } from '../temporal';
import { clusterTopology } from './topology';

export interface TemporalServerBinaries {
  /** `go.temporal.io/server/cmd/server`. */
  server: string;
  /** `go.temporal.io/server/cmd/tools/sql` (temporal-sql-tool). */
  sqlTool: string;
  /** `schema/postgresql/v12` of the same module version (the schema tool's input). */
  schemaDir: string;
}

export interface TemporalUiBinaries {
  /** `github.com/temporalio/ui-server/v2/cmd/server`, the Web UI with its assets embedded. */
  server: string;
  /** The module's folder: `--root` of the UI server, whose `config/docker.yaml` reads TEMPORAL_ADDRESS … */
  root: string;
}

/** Where the Go builds keep their module cache, build cache and binaries: one per checkout, shared by every run. */
function goDir(stackDir: string): string {
  return path.join(stackDir, 'cluster', 'go');
}

function moduleDir(stackDir: string, module: string, version: string): string {
  return path.join(goDir(stackDir), 'gopath', 'pkg', 'mod', `${module}@${version}`);
}

/**
 * `go install pkg@version …` into `bin` (renaming each binary as `names` says), once per version. One package at a
 * time at low priority (`-p 1`, `nice`): the first build takes long on two cores, and other processes keep theirs.
 * Writes the time taken and the sizes to `bin/BUILD`.
 */
function goInstall(
  stackDir: string,
  what: string,
  bin: string,
  packages: { pkg: string; built: string; name: string }[],
  log: (line: string) => void,
): void {
  if (packages.every((p) => existsSync(path.join(bin, p.name)))) return;
  const go = which('go');
  if (!go) throw new ProvisioningError(what, 'go is not on PATH (needed once to build it)');
  const dir = goDir(stackDir);
  mkdirSync(bin, { recursive: true });
  const env = {
    ...process.env,
    GOPATH: path.join(dir, 'gopath'),
    GOMODCACHE: path.join(dir, 'gopath', 'pkg', 'mod'),
    GOCACHE: path.join(dir, 'cache'),
    GOBIN: bin,
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: 'local',
  };
  const started = Date.now();
  log(`[stack] building ${what} from the Go module proxy (first time only; long on two cores) into ${bin}`);
  try {
    execFileSync('nice', ['-n', '10', go, 'install', '-p', '1', ...packages.map((p) => p.pkg)], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch (err) {
    throw new ProvisioningError(what, `go install failed: ${(err as Error).message}`);
  }
  for (const p of packages) renameSync(path.join(bin, p.built), path.join(bin, p.name));
  const sizes = packages.map((p) => `${p.name} ${Math.round(statSync(path.join(bin, p.name)).size / 1e6)} MB`);
  const line = `${what} built in ${Math.round((Date.now() - started) / 1000)} s: ${sizes.join(', ')}`;
  writeFileSync(path.join(bin, 'BUILD'), `${line}\n`);
  log(`[stack] ${line}`);
}

/** The pinned Temporal server and its SQL schema tool, built from the Go module proxy on first use. */
export function ensureTemporalServer(stackDir: string, log: (line: string) => void): TemporalServerBinaries {
  const version = `v${clusterTopology.temporalServer}`;
  const bin = path.join(goDir(stackDir), 'bin', `temporal-${version}`);
  goInstall(
    stackDir,
    `go.temporal.io/server@${version}`,
    bin,
    [
      { pkg: `go.temporal.io/server/cmd/server@${version}`, built: 'server', name: 'temporal-server' },
      { pkg: `go.temporal.io/server/cmd/tools/sql@${version}`, built: 'sql', name: 'temporal-sql-tool' },
    ],
    log,
  );
  return {
    server: path.join(bin, 'temporal-server'),
    sqlTool: path.join(bin, 'temporal-sql-tool'),
    schemaDir: path.join(moduleDir(stackDir, 'go.temporal.io/server', version), 'schema', 'postgresql', 'v12'),
  };
}

/** The pinned Temporal Web UI server (assets embedded in its module), built from the Go module proxy on first use. */
export function ensureTemporalUi(stackDir: string, log: (line: string) => void): TemporalUiBinaries {
  const version = `v${clusterTopology.temporalUi}`;
  const bin = path.join(goDir(stackDir), 'bin', `ui-${version}`);
  const module = 'github.com/temporalio/ui-server/v2';
  goInstall(
    stackDir,
    `${module}@${version}`,
    bin,
    [{ pkg: `${module}/cmd/server@${version}`, built: 'server', name: 'temporal-ui-server' }],
    log,
  );
  return { server: path.join(bin, 'temporal-ui-server'), root: moduleDir(stackDir, module, version) };
}
