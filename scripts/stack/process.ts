import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';

/** A child process of the local stack, with its output going to a log file. */
export interface Service {
  readonly name: string;
  readonly process: ChildProcess;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs` (milliseconds). Resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves when the process exits (for whatever reason). */
  readonly exited: Promise<number | null>;
}

const running = new Set<Service>();
process.once('exit', () => {
  // Last resort: never leave a stray server behind if the parent dies without stopping the stack.
  for (const service of running) service.process.kill('SIGKILL');
});

export function spawnService(name: string, command: string, args: string[], logFile: string, cwd?: string): Service {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  // Own process group: a terminal's Ctrl-C reaches only our process, which then stops the services in order
  // (ingress commits before Kafka goes, the worker drains before Temporal goes). The exit hook below covers crashes.
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  const service: Service = {
    name,
    process: child,
    logFile,
    exited,
    async stop(graceMs = 15_000) {
      running.delete(service);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(service);
  void exited.then(() => running.delete(service));
  return service;
}

/** Polls `probe` every `intervalMs` until it resolves, the service dies, or `timeoutMs` passes. */
export async function waitUntilReady(
  service: Service,
  probe: () => Promise<unknown>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void service.exited.then(() => (died = true));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (died) throw new Error(`${service.name} exited during start-up; see ${service.logFile}`);
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  throw new Error(`${service.name} was not ready after ${timeoutMs} ms (${String(lastError)}); see ${service.logFile}`);
}

/** A TCP port that is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when something already listens on 127.0.0.1:port. */
export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
