import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { searchAttributeDefinitions } from '../../../domain/search-attributes';
import { spawnService, waitUntilReady, type Service } from '../process';
import type { TemporalServerBinaries } from './build';
import { clusterTopology, temporalDatabases, temporalDynamicConfig, temporalServerEnv } from './topology';

/**
 * Creates Temporal's two databases and their schemas with the schema tool when new (`create-database`, then
 * `setup-schema -v 0.0`; a database that exists already is left as it is), then brings both to the module's latest
 * version (`update-schema`, a no-op when current). docker-compose.yml's `temporal-schema` runs the same steps.
 */
export function setupTemporalSchemas(bins: TemporalServerBinaries, db: { host: string; port: number }): void {
  const base = [
    '--plugin',
    clusterTopology.temporalDb,
    '--ep',
    db.host,
    '-p',
    String(db.port),
    '-u',
    clusterTopology.dbUser,
    '--pw',
    clusterTopology.dbPassword,
  ];
  const tool = (database: string, args: string[]) =>
    execFileSync(bins.sqlTool, [...base, '--db', database, ...args], { stdio: 'pipe', encoding: 'utf8' });
  for (const [database, schema] of temporalDatabases) {
    let created = true;
    try {
      tool(database, ['create-database']);
    } catch (err) {
      const output = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
      if (!/already exists/.test(output)) throw err;
      created = false;
    }
    if (created) tool(database, ['setup-schema', '-v', '0.0']);
    tool(database, ['update-schema', '-d', path.join(bins.schemaDir, schema, 'versioned')]);
  }
}

export interface TemporalServerOptions {
  bins: TemporalServerBinaries;
  /** The `temporal` CLI, for `temporal operator`. */
  cli: string;
  db: { host: string; port: number };
  frontendPort: number;
  dataDir: string;
  logFile: string;
}

export interface TemporalServer {
  address: string;
  service: Service;
}

/**
 * Starts all Temporal services in one `temporal-server start` process, configured by environment variables through
 * the server's embedded template (as the `temporalio/server` image is), waits for the frontend, then registers the
 * namespace and our search attributes with `temporal operator` when missing.
 */
export async function startTemporalServer(opts: TemporalServerOptions): Promise<TemporalServer> {
  mkdirSync(opts.dataDir, { recursive: true });
  const dynamicConfigFile = path.join(opts.dataDir, 'dynamicconfig.yaml');
  writeFileSync(dynamicConfigFile, temporalDynamicConfig);
  const env = temporalServerEnv({
    postgresHost: opts.db.host,
    postgresPort: opts.db.port,
    frontendPort: opts.frontendPort,
    dynamicConfigFile,
  });
  // `env` execs the server in place: the service's pid is the server's, with exactly this environment added.
  const args = [...Object.entries(env).map(([k, v]) => `${k}=${v}`), opts.bins.server, 'start'];
  const service = spawnService('temporal server', 'env', args, opts.logFile);
  const address = `127.0.0.1:${opts.frontendPort}`;
  // Ready when the frontend reports the cluster serving (the check docker-compose.yml's healthcheck runs too).
  const health = ['operator', 'cluster', 'health', '--address', address];
  await waitUntilReady(service, async () => execFileSync(opts.cli, health, { stdio: 'pipe' }), 120_000, 500);
  // A namespace just created reaches every service's cache within seconds; until then its calls fail: try again.
  await waitUntilReady(service, async () => registerNamespace(opts.cli, address), 60_000, 1000);
  return { address, service };
}

function registerNamespace(cli: string, address: string): void {
  const { namespace, namespaceRetention } = clusterTopology;
  const temporal = (args: string[]) =>
    execFileSync(cli, [...args, '--address', address, '--namespace', namespace], { encoding: 'utf8', stdio: 'pipe' });
  try {
    temporal(['operator', 'namespace', 'describe']);
  } catch {
    temporal(['operator', 'namespace', 'create', '--retention', namespaceRetention]);
  }
  const known = temporal(['operator', 'search-attribute', 'list', '--output', 'json']);
  for (const [name, type] of Object.entries(searchAttributeDefinitions)) {
    if (known.includes(`"${name}"`)) continue;
    temporal(['operator', 'search-attribute', 'create', '--name', name, '--type', type]);
  }
}
