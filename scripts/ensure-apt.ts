import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * Debian packages the project's tools and tests need, keyed by package, with the binary that proves the package is
 * installed. `npx tsx scripts/ensure-apt.ts docker-compose chromium` installs them by hand.
 */
export const aptPackages = {
  /** `docker-compose config` validates docker-compose.yml (test/ops/docker-compose.test.ts). */
  'docker-compose': '/usr/bin/docker-compose',
  /** Headless browser for the Web UI test, driven by playwright-core. */
  chromium: '/usr/bin/chromium',
  /** Redis for the benchmarks' BullMQ peer (bench/peer/redis.ts starts a throw-away one per run). */
  'redis-server': '/usr/bin/redis-server',
  /** Temporal's database in the cluster profile (scripts/stack/cluster/postgres.ts). */
  'postgresql-15': '/usr/lib/postgresql/15/bin/postgres',
} as const;
export type AptPackage = keyof typeof aptPackages;

/** Thrown when a Debian package could not be installed; says which and why. */
export class AptInstallError extends Error {
  constructor(
    public readonly packages: readonly string[],
    reason: string,
  ) {
    super(`cannot install Debian package(s) ${packages.join(', ')}: ${reason}`);
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when the binary is present: an absolute path as given, a bare name on PATH. */
function hasBinary(binary: string): boolean {
  if (path.isAbsolute(binary)) return isExecutable(binary);
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && isExecutable(path.join(dir, binary)));
}

export interface EnsureAptOptions {
  /** Progress lines; defaults to console.log. */
  log?: (line: string) => void;
  /** Milliseconds allowed for each apt-get call. @default 900000 (15 minutes: chromium is ~100 MB) */
  timeoutMs?: number;
}

/**
 * Installs the given Debian packages with `apt-get install -y --no-install-recommends`, but only those whose binary
 * is missing; runs `apt-get update` first only when the install fails (stale or empty package lists), then tries once
 * more. Idempotent and instant when everything is there (one `access(2)` per package). Needs root (tests run as
 * root here; CI images too). Returns the packages it installed.
 */
export function ensureAptPackages(packages: readonly AptPackage[], opts: EnsureAptOptions = {}): AptPackage[] {
  const log = opts.log ?? ((line: string) => console.log(line));
  const missing = packages.filter((p) => !hasBinary(aptPackages[p]));
  if (missing.length === 0) return [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new AptInstallError(missing, `not root; run: sudo apt-get install -y ${missing.join(' ')}`);
  }
  const run = (args: string[]) =>
    execFileSync('apt-get', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 900_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  const install = () => run(['install', '-y', '--no-install-recommends', ...missing]);
  log(`[apt] installing ${missing.join(' ')}`);
  try {
    install();
  } catch {
    log('[apt] install failed; running apt-get update and trying again');
    try {
      run(['update']);
      install();
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim().split('\n').slice(-3).join(' | ');
      throw new AptInstallError(missing, stderr || (err as Error).message);
    }
  }
  const stillMissing = missing.filter((p) => !hasBinary(aptPackages[p]));
  if (stillMissing.length > 0) {
    throw new AptInstallError(
      stillMissing,
      `installed, but ${stillMissing.map((p) => aptPackages[p]).join(', ')} missing`,
    );
  }
  log(`[apt] installed ${missing.join(' ')}`);
  return missing;
}

function isAptPackage(name: string): name is AptPackage {
  return Object.hasOwn(aptPackages, name);
}

// CLI: `tsx scripts/ensure-apt.ts [package …]` (all known packages when none are given).
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !isAptPackage(n));
  if (unknown.length > 0) {
    console.error(`unknown package(s) ${unknown.join(', ')}; known: ${Object.keys(aptPackages).join(', ')}`);
    process.exit(2);
  }
  try {
    ensureAptPackages(names.length > 0 ? (names as AptPackage[]) : (Object.keys(aptPackages) as AptPackage[]));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
