import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stackDir } from '../../scripts/stack';
import { freePort, PortLostError, retryOnLostPort } from '../../scripts/stack/process';
import { ensureTemporalCli, startTemporalDevServer } from '../../scripts/stack/temporal';

/** Holds 127.0.0.1:port the way another process's server would, until closed. */
async function occupy(port: number): Promise<net.Server> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

describe('fresh ports for a test stack', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'retry-fresh-ports-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('picks ports below the kernel ephemeral range, where outgoing connections do not take them', async () => {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/).map(Number);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) expect(port).toBeLessThan(low!);
  });

  it('starts the server again on fresh ports when its port was taken before it bound it', async () => {
    const cli = ensureTemporalCli(stackDir);
    const taken = await freePort();
    const holder = await occupy(taken);
    const tried: number[] = [];
    const lost: unknown[] = [];
    try {
      const server = await retryOnLostPort(async (attempt) => {
        const port = attempt === 1 ? taken : await freePort();
        tried.push(port);
        return startTemporalDevServer({
          cli,
          dbFile: path.join(dir, `temporal-${attempt}.sqlite`),
          port,
          uiPort: await freePort(),
          logFile: path.join(dir, `temporal-${attempt}.log`),
        }).catch((err: unknown) => {
          lost.push(err);
          throw err;
        });
      });
      await server.service.stop(5_000);
    } finally {
      holder.close();
    }
    expect(tried).toHaveLength(2);
    expect(tried[0]).toBe(taken);
    expect(lost[0]).toBeInstanceOf(PortLostError);
    expect(String(lost[0])).toMatch(/exited during start-up: .*address already in use/i);
  });

  it('does not retry a start that failed for another reason', async () => {
    let attempts = 0;
    await expect(
      retryOnLostPort(async () => {
        attempts++;
        throw new Error('bad configuration');
      }),
    ).rejects.toThrow('bad configuration');
    expect(attempts).toBe(1);
  });
});
