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

/** Where the Go build keeps its module cache, build cache and binaries: one per checkout, shared by every run. */
export function goDir(stackDir: string): string {
  return path.join(stackDir, 'cluster', 'go');
}

/**
 * Builds the pinned Temporal server and its SQL schema tool from the Go module proxy into `<stackDir>/cluster/go`,
 * once (later calls return at once). One package at a time at low priority (`-p 1`, `nice`): the first build takes
 * long on two cores, and other processes on the machine keep theirs.
 */
export function ensureTemporalServer(stackDir: string, log: (line: string) => void): TemporalServerBinaries {
  const dir = goDir(stackDir);
  const version = `v${clusterTopology.temporalServer}`;
  const bin = path.join(dir, 'bin', version);
  const out: TemporalServerBinaries = {
    server: path.join(bin, 'temporal-server'),
    sqlTool: path.join(bin, 'temporal-sql-tool'),
    schemaDir: path.join(
      dir,
      'gopath',
      'pkg',
      'mod',
      `go.temporal.io/server@${version}`,
      'schema',
      'postgresql',
      'v12',
    ),
  };
  if (existsSync(out.server) && existsSync(out.sqlTool) && existsSync(out.schemaDir)) return out;
  const go = which('go');
  if (!go) throw new ProvisioningError('Temporal server', 'go is not on PATH (needed once to build it)');
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
  log(`[stack] building go.temporal.io/server@${version} (first time only; long on two cores) into ${bin}`);
  try {
    execFileSync(
      'nice',
      [
        '-n',
        '10',
        go,
        'install',
        '-p',
        '1',
        `go.temporal.io/server/cmd/server@${version}`,
        `go.temporal.io/server/cmd/tools/sql@${version}`,
      ],
      { env, stdio: ['ignore', 'inherit', 'inherit'] },
    );
  } catch (err) {
    throw new ProvisioningError('Temporal server', `go install failed: ${(err as Error).message}`);
  }
  renameSync(path.join(bin, 'server'), out.server);
  renameSync(path.join(bin, 'sql'), out.sqlTool);
  const seconds = Math.round((Date.now() - started) / 1000);
  const mb = (file: string) => Math.round(statSync(file).size / 1e6);
  const line = `built in ${seconds} s: temporal-server ${mb(out.server)} MB, temporal-sql-tool ${mb(out.sqlTool)} MB`;
  writeFileSync(path.join(bin, 'BUILD'), `${line}\n`);
  log(`[stack] ${line}`);
  return out;
}
