import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serverPid, spawnService } from '../../scripts/stack/process';

describe('serverPid', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'retry-server-pid-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the server under its watchdog (what a bench measures memory on), not the watchdog itself', async () => {
    const sleep = '/bin/sleep';
    const service = spawnService('sleeper', sleep, ['60'], path.join(dir, 'sleeper.log'));
    try {
      const pid = await serverPid(service);
      expect(pid).not.toBe(service.process.pid);
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual([sleep, '60', '']);
    } finally {
      await service.stop(2_000);
    }
    await expect(serverPid(service, 200)).rejects.toThrow(/no server process under its watchdog/);
  });
});
