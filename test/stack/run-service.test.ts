import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const fixture = path.join(__dirname, 'fixtures', 'slow-start.ts');

/** Runs the fixture entry point; resolves its output lines as they come and its exit code. */
function startFixture(env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    output += d.toString();
    for (const w of waiters.filter((w) => output.includes(w.text))) w.resolve();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const printed = (text: string) =>
    output.includes(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text, resolve }));
  return { child, exited, printed, output: () => output };
}

describe('an entry point signalled while it is still starting', () => {
  it('when SIGTERM arrives during start-up, then it finishes starting, stops what it started and exits 0', async () => {
    const run = startFixture();
    await run.printed('starting');
    run.child.kill('SIGTERM');
    await run.printed('stopping (SIGTERM)');
    run.child.kill('SIGINT'); // a second signal during the stop changes nothing
    await run.printed('SIGINT while stopping; still stopping');
    run.child.stdin.write('go\n');
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/started\n[\s\S]*stopped svc \(SIGTERM\)/);
  });

  it('when start-up fails after a signal, then it cleans up what it had started and exits 1 without calling stop', async () => {
    const run = startFixture({ START_FAILS: '1' });
    await run.printed('starting');
    run.child.kill('SIGTERM');
    await run.printed('stopping (SIGTERM)');
    run.child.stdin.write('go\n');
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('[slow-start] start-up failed: start-up failed');
    expect(run.output()).toContain('cleaned up');
    expect(run.output()).not.toContain('stopped svc');
  });

  it('when start-up fails with no signal, then it cleans up what it had started before exiting 1', async () => {
    const run = startFixture({ START_FAILS: '1' });
    await run.printed('starting');
    run.child.stdin.write('go\n');
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/start-up failed[\s\S]*cleaned up/);
  });
});
