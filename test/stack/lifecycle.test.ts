import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { killEverything, processesMentioning } from '../../chaos/lab';
import { freePort } from '../../scripts/stack/process';

const root = path.resolve(__dirname, '../..');

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return check();
}

/** `npm run stack` with a Temporal dev server on free ports in `dataDir` (Kafka: the test run's broker). */
async function npmRunStack(dataDir: string, temporalPort?: number) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STACK_DATA_DIR: dataDir,
    STACK_TEMPORAL_PORT: String(temporalPort ?? (await freePort())),
    STACK_TEMPORAL_UI_PORT: String(await freePort()),
    KAFKA_BROKERS: inject('kafkaBrokers').join(','),
  };
  delete env.TEMPORAL_ADDRESS;
  const child = spawn('npm', ['run', 'stack'], { cwd: root, env, detached: true });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe('stack lifecycle', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'retry-lifecycle-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('when a supervisor sends SIGINT to npm`s pid only, then everything stops and npm exits 0', async () => {
    const dir = dataDir();
    const { child, exited, output } = await npmRunStack(dir);
    try {
      expect(await until(() => output().includes('running;') || child.exitCode !== null, 90_000), output()).toBe(true);
      expect(processesMentioning(dir).length).toBeGreaterThan(0);
      process.kill(child.pid!, 'SIGINT'); // npm's pid, not its group: what a supervisor or `kill` sends
      expect(await exited).toBe(0);
      // npm exits after its child, which exits after the servers: nothing is left at that moment.
      expect(processesMentioning(dir)).toEqual([]);
    } finally {
      killEverything(child, dir);
    }
  });

  it('when the service process is killed with -9, then the servers it started follow within seconds', async () => {
    const dir = dataDir();
    const { child, exited, output } = await npmRunStack(dir);
    try {
      expect(await until(() => output().includes('running;') || child.exitCode !== null, 90_000), output()).toBe(true);
      const service = Number(execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim());
      process.kill(service, 'SIGKILL');
      await exited;
      expect(
        await until(() => processesMentioning(dir).length === 0, 20_000),
        processesMentioning(dir).join('\n'),
      ).toBe(true);
    } finally {
      killEverything(child, dir);
    }
  });

  it('when the Temporal port is taken by a stranger, then start fails fast naming the port, holder and variable', async () => {
    const dir = dataDir();
    const stranger = net.createServer();
    await new Promise<void>((resolve) => stranger.listen(0, '127.0.0.1', resolve));
    const port = (stranger.address() as net.AddressInfo).port;
    const { child, exited, output } = await npmRunStack(dir, port);
    try {
      const started = Date.now();
      expect(await exited).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(output()).toContain(`port ${port} is already in use by pid ${process.pid}`);
      expect(output()).toContain('STACK_TEMPORAL_PORT');
      expect(output()).not.toContain('dev server ready');
      expect(processesMentioning(dir)).toEqual([]);
    } finally {
      stranger.close();
      killEverything(child, dir);
    }
  });
});
