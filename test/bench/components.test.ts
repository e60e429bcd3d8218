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
/**
 * A server that serves each connection from a child in a session of its own (as PostgreSQL's backends call
 * setsid()): the child burns the CPU, tells the server, and lives on (as a pooled connection's backend does).
 */
const sessionServer = `
const net = require('node:net');
const { spawn } = require('node:child_process');
const backend = "const from = process.cpuUsage(); while (process.cpuUsage(from).user < 400000); process.stdout.write('x'); setTimeout(() => process.exit(), 20000);";
net.createServer((socket) => {
  const child = spawn(process.execPath, ['-e', backend], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  child.stdout.once('data', () => socket.end('done ' + child.pid));
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;
let child: ChildProcess | undefined;
const strays: number[] = [];
afterAll(() => {
  if (child?.pid) process.kill(-child.pid, 'SIGKILL');
  for (const pid of strays) process.kill(-pid, 'SIGKILL');
});

function ask(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('CPU per component', () => {
  it("charges a server's CPU to the component listening on its port, not to the bench side", async () => {
    child = spawn(process.execPath, ['-e', server], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) => child!.stdout!.once('data', (d) => resolve(Number(`${d}`))));
    const groups = groupsListeningOn({ server: [port] });
    expect(groups.server).toEqual([child.pid]);

    const before = componentCpuMs(groups);
    expect(await ask(port)).toBe('done');
    // 400 ms of the server's own CPU time (however long the loaded machine takes to give it), then the answer.
    const used = cpuSince(before, componentCpuMs(groups));
    expect(used.server).toBeGreaterThanOrEqual(390);
    // The (now idle) server is a child of this process: without its group it would count on the bench side.
    const [charged, uncharged] = [componentCpuMs(groups), componentCpuMs({})];
    // (A clock tick or two may pass between the readings: 10 ms each.)
    expect(Math.abs(uncharged[BENCH_SIDE]! - charged[BENCH_SIDE]! - charged.server!)).toBeLessThanOrEqual(50);
  });

  it('charges the CPU of a server child in a session of its own (a PostgreSQL backend) to the server', async () => {
    const server = spawn(process.execPath, ['-e', sessionServer], {
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    strays.push(server.pid!);
    const port = await new Promise<number>((resolve) => server.stdout!.once('data', (d) => resolve(Number(`${d}`))));
    const groups = groupsListeningOn({ server: [port] });
    const before = componentCpuMs(groups);
    const answer = await ask(port);
    strays.push(Number(answer.split(' ')[1]));
    expect(answer).toMatch(/^done \d+$/);
    // The child is alive and in a group of its own: only the process tree under the server charges it there.
    expect(cpuSince(before, componentCpuMs(groups)).server).toBeGreaterThanOrEqual(390);
  });
});
