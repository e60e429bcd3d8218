// A throw-away redis-server for the BullMQ peer: free port, own data folder under .stack/runs/, removed on stop.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { ensureAptPackages } from '../../scripts/ensure-apt';
import { stackDir } from '../../scripts/stack';
import { freePort, serverPid, spawnService, waitUntilReady } from '../../scripts/stack/process';
import { which } from '../../scripts/stack/temporal';

/** A running redis-server started by {@link startRedis}. */
export interface RunningRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Process id of redis-server (for its RSS). */
  pid: number;
  /** `SHUTDOWN NOSAVE` (SIGTERM, then SIGKILL, if that does not end it), then the data folder is removed. */
  stop(): Promise<void>;
}

/** Path of redis-server: PATH, then /usr/bin, else installs Debian's `redis-server` package. */
function ensureRedisServer(): string {
  const found = which('redis-server');
  if (found) return found;
  ensureAptPackages(['redis-server']);
  return '/usr/bin/redis-server';
}

/**
 * Sends one command in RESP and resolves with the first reply line (or the whole bulk string for `$` replies).
 * Enough for PING, INFO and SHUTDOWN without pulling a client into the harness.
 */
export async function redisCommand(port: number, args: string[], timeoutMs = 2_000): Promise<string> {
  const payload = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0]} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    socket.once('connect', () => socket.write(payload));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      const firstEnd = data.indexOf('\r\n');
      if (firstEnd < 0) return;
      const head = data.slice(0, firstEnd);
      if (head.startsWith('$')) {
        const length = Number(head.slice(1));
        if (length < 0) return finish(() => resolve(''));
        const body = Buffer.from(data.slice(firstEnd + 2), 'utf8');
        if (body.length >= length) finish(() => resolve(body.subarray(0, length).toString('utf8')));
        return;
      }
      if (head.startsWith('-')) return finish(() => reject(new Error(`redis ${args[0]}: ${head.slice(1)}`)));
      finish(() => resolve(head.slice(1)));
    });
    // SHUTDOWN closes the connection without a reply: that is success.
    socket.once('close', () => finish(() => resolve(data)));
    socket.once('error', (err) => finish(() => reject(err)));
  });
}

/** One field of `INFO <section>` as a number (bytes for `used_memory`), or undefined when absent. */
export async function redisInfoNumber(url: string, section: string, field: string): Promise<number | undefined> {
  const info = await redisCommand(Number(new URL(url).port), ['INFO', section]);
  const line = info.split('\r\n').find((l) => l.startsWith(`${field}:`));
  return line === undefined ? undefined : Number(line.slice(field.length + 1));
}

/**
 * Starts redis-server on a free loopback port with its data in a throw-away folder under `.stack/runs/`. Persistence
 * is what a user who wants delayed jobs to survive a crash would set: `--appendonly yes --appendfsync everysec`
 * (at most one second of writes lost; `always` would be the fair match for Temporal's synchronous SQLite commits, but
 * nobody runs BullMQ that way). RDB snapshots are off so a background save does not skew the memory figures.
 * Ready when PING answers PONG.
 */
export async function startRedis(): Promise<RunningRedis> {
  const binary = ensureRedisServer();
  const port = await freePort();
  const dir = path.join(stackDir, 'runs', `redis-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
  ];
  const service = spawnService('redis-server', binary, args, path.join(dir, 'redis.log'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    await waitUntilReady(
      service,
      async () => {
        const reply = await redisCommand(port, ['PING'], 500);
        if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
      },
      15_000,
      100,
    );
  } catch (err) {
    await service.stop(2_000);
    removeDir();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: await serverPid(service),
    stop: () =>
      (stopping ??= (async () => {
        await redisCommand(port, ['SHUTDOWN', 'NOSAVE']).catch(() => undefined);
        await service.stop(5_000);
        removeDir();
      })()),
  };
}
