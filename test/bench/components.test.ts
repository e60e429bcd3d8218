import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_SIDE, componentCpuMs, cpuSince, groupsListeningOn } from '../../bench/lib/components';

/** A server of its own process group (as the stack runs them) that burns CPU when asked to over its port. */
const server = `
const net = require('node:net');
net.createServer((socket) => {
  const from = process.cpuUsage();
  while (process.cpuUsage(from).user < 400000);
  socket.end('done');
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;
let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.pid) process.kill(-child.pid, 'SIGKILL');
});

describe('CPU per component', () => {
  it("charges a server's CPU to the component listening on its port, not to the bench side", async () => {
    child = spawn(process.execPath, ['-e', server], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) => child!.stdout!.once('data', (d) => resolve(Number(`${d}`))));
    const groups = groupsListeningOn({ server: [port] });
    expect(groups.server).toEqual([child.pid]);

    const before = componentCpuMs(groups);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toBe('done');
    // 400 ms of the server's own CPU time (however long the loaded machine takes to give it), then the answer.
    const used = cpuSince(before, componentCpuMs(groups));
    expect(used.server).toBeGreaterThanOrEqual(390);
    // The (now idle) server is a child of this process: without its group it would count on the bench side.
    const [charged, uncharged] = [componentCpuMs(groups), componentCpuMs({})];
    // (A clock tick or two may pass between the readings: 10 ms each.)
    expect(Math.abs(uncharged[BENCH_SIDE]! - charged[BENCH_SIDE]! - charged.server!)).toBeLessThanOrEqual(50);
  });
});
