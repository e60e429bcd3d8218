import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureAptPackages } from '../../ensure-apt';
import { spawnService, waitUntilReady, type Service } from '../process';
import { ProvisioningError } from '../temporal';
import { clusterTopology } from './topology';

const binDir = `/usr/lib/postgresql/${clusterTopology.postgresMajor}/bin`;

/**
 * PostgreSQL refuses to run as root: as root, its commands run as Debian's `postgres` user (created by the package)
 * through `setpriv`, which execs in place, so the service's pid is the server's own.
 */
function asDbUser(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', command, ...args]];
}

function ownByDbUser(dir: string): void {
  if (process.getuid?.() !== 0) return;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
}

export interface PostgresOptions {
  /** Cluster folder (initdb on first use, reused afterwards). */
  dataDir: string;
  port: number;
  logFile: string;
}

export interface Postgres {
  host: string;
  port: number;
  service: Service;
  /** Starts the server again on the same data (after a stop or a kill) and waits until it accepts connections. */
  restart(): Promise<void>;
}

/**
 * Starts Debian's PostgreSQL on 127.0.0.1:`port` (installing `postgresql-15` when missing, initdb when the folder is
 * new: role `temporal` with its password, scram auth) and waits until it accepts connections.
 */
export async function startPostgres(opts: PostgresOptions): Promise<Postgres> {
  ensureAptPackages([`postgresql-${clusterTopology.postgresMajor}`]);
  const pgdata = path.join(opts.dataDir, 'pgdata');
  const socketDir = path.join(opts.dataDir, 'socket');
  // The folders above stay traversable (0755) for the database user; its own two are private to it.
  mkdirSync(path.dirname(opts.dataDir), { recursive: true });
  for (const dir of [opts.dataDir, socketDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    ownByDbUser(dir);
  }
  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
    const pwFile = path.join(opts.dataDir, 'pwfile');
    writeFileSync(pwFile, `${clusterTopology.dbPassword}\n`, { mode: 0o600 });
    ownByDbUser(pwFile);
    const [cmd, args] = asDbUser(path.join(binDir, 'initdb'), [
      '-D',
      pgdata,
      '-U',
      clusterTopology.dbUser,
      `--pwfile=${pwFile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
    ]);
    try {
      execFileSync(cmd, args, { stdio: 'pipe', encoding: 'utf8' });
    } catch (err) {
      throw new ProvisioningError('PostgreSQL', `initdb failed: ${(err as { stderr?: string }).stderr ?? err}`);
    }
  }
  const [cmd, args] = asDbUser(path.join(binDir, 'postgres'), [
    '-D',
    pgdata,
    '-p',
    String(opts.port),
    '-h',
    '127.0.0.1',
    '-k',
    socketDir,
    // Each Temporal service keeps its own pools (frontend, history, matching, worker; default and visibility store).
    '-c',
    'max_connections=300',
  ]);
  const start = async () => {
    const service = spawnService('postgresql', cmd, args, opts.logFile);
    const isReady = path.join(binDir, 'pg_isready');
    const probe = ['-q', '-h', '127.0.0.1', '-p', String(opts.port)];
    await waitUntilReady(service, async () => execFileSync(isReady, probe, { stdio: 'ignore' }), 60_000);
    return service;
  };
  const postgres: Postgres = {
    host: '127.0.0.1',
    port: opts.port,
    service: await start(),
    async restart() {
      postgres.service = await start();
    },
  };
  return postgres;
}
