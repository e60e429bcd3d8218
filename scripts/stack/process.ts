import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { listenerPids, processGroup } from './ports';

/** A child process of the local stack, with its output going to a log file. */
export interface Service {
  readonly name: string;
  readonly process: ChildProcess;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs` (milliseconds). Resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /**
   * Sends `signal` to the server and its watchdog at once (their process group), as a crash or an operator's
   * `kill -9` would: signalling `process` alone would reach only the watchdog, and the server would run on.
   */
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process exits (for whatever reason). */
  readonly exited: Promise<number | null>;
}

const running = new Set<Service>();
process.once('exit', () => {
  // Last resort: never leave a stray server behind if the parent exits without stopping the stack.
  for (const service of running) killGroup(service.process, 'SIGKILL');
});

/** Signals the service's whole process group (the watchdog and the server under it). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

const watchdog = path.join(__dirname, 'watchdog.sh');

export function spawnService(name: string, command: string, args: string[], logFile: string, cwd?: string): Service {
  mkdirSync(path.dirname(logFile), { recursive: true });
  // The server writes its log file itself: no stream of ours sits in between, so its output can never crash us.
  const log = openSync(logFile, 'a');
  // Own process group: a terminal's Ctrl-C reaches only our process, which then stops the services in order
  // (ingress commits before Kafka goes, the worker drains before Temporal goes). The watchdog (watchdog.sh) stops
  // the server when this process dies, even by kill -9; the exit hook above covers ordinary exits.
  const child = spawn(watchdog, [String(process.pid), command, ...args], {
    cwd,
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
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
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    kill: (signal) => killGroup(child, signal),
  };
  running.add(service);
  void exited.then(() => running.delete(service));
  return service;
}

/**
 * The pid of the server a service runs (the watchdog's own pid is `process.pid`): the watchdog's child that is not a
 * copy of the watchdog (its watcher subshell is). For what must be read on the server itself, such as its memory.
 * Waits up to `timeoutMs` for the watchdog to have started it.
 */
export async function serverPid(service: Service, timeoutMs = 5_000): Promise<number> {
  const watchdogPid = service.process.pid;
  const deadline = Date.now() + timeoutMs;
  while (watchdogPid !== undefined) {
    const own = readOr(`/proc/${watchdogPid}/cmdline`);
    const children = readOr(`/proc/${watchdogPid}/task/${watchdogPid}/children`).trim().split(/\s+/).filter(Boolean);
    // A forked child runs the watchdog's command line until it execs the server's (or exits, as the watcher's sleep).
    const server = own ? children.find((pid) => ![own, ''].includes(readOr(`/proc/${pid}/cmdline`))) : undefined;
    if (server !== undefined) return Number(server);
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${service.name}: no server process under its watchdog (pid ${String(watchdogPid)})`);
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Polls `probe` every `intervalMs` until it resolves, the service dies, or `timeoutMs` passes. A probe answered while
 * `port` is held by a process outside the service's group (someone else's server) is an error, not "ready".
 */
export async function waitUntilReady(
  service: Service,
  probe: () => Promise<unknown>,
  timeoutMs: number,
  intervalMs = 250,
  port?: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void service.exited.then(() => (died = true));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (died) throw new Error(`${service.name} exited during start-up: ${logTail(service)}; see ${service.logFile}`);
    const answered = await probe().then(
      () => true,
      (err: unknown) => {
        lastError = err;
        return false;
      },
    );
    if (answered && !died) {
      if (port !== undefined) assertListensOn(service, port);
      return;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${service.name} was not ready after ${timeoutMs} ms (${String(lastError)}); see ${service.logFile}`);
}

/** The last line of a service's log (why it exited), trimmed. */
function logTail(service: Service): string {
  try {
    const lines = readFileSync(service.logFile, 'utf8').trim().split('\n');
    return (lines.at(-1) ?? '').slice(0, 300);
  } catch {
    return 'no log';
  }
}

/** Throws unless a process of `service`'s group listens on `port` (passes when /proc cannot tell). */
function assertListensOn(service: Service, port: number): void {
  const pids = listenerPids(port);
  if (pids.length === 0 || pids.some((pid) => processGroup(pid) === service.process.pid)) return;
  throw new Error(
    `${service.name}: port ${port} answers from pid ${pids.join(', ')}, which this stack did not start; ` +
      `see ${service.logFile}`,
  );
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
