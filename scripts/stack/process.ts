import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { canBind, listenerPids, processGroup } from './ports';

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
    if (died) {
      const why = `${service.name} exited during start-up: ${logTail(service)}; see ${service.logFile}`;
      throw lostPort(service) ? new PortLostError(why) : new Error(why);
    }
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

/** The last lines of a service's log (why it exited), joined and trimmed. */
function logTail(service: Service, lines = 5): string {
  const log = readOr(service.logFile).trim();
  if (!log) return 'no log';
  return log.split('\n').slice(-lines).join(' | ').slice(-800);
}

/** Whether the service's log says it could not bind one of its ports. */
function lostPort(service: Service): boolean {
  return /address already in use|BindException|failed to bind/i.test(readOr(service.logFile));
}

/**
 * A server exited during start-up because one of its ports was taken between the moment the port was picked and the
 * moment the server bound it (another process got there first).
 */
export class PortLostError extends Error {
  override name = 'PortLostError';
}

/**
 * Runs `start` again (up to `attempts` times in all) while it fails with {@link PortLostError}; `start` is given
 * the attempt number (1, 2, …) and picks fresh ports and a fresh data folder for every attempt after the first.
 */
export async function retryOnLostPort<T>(start: (attempt: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(attempt);
    } catch (err) {
      if (!(err instanceof PortLostError) || attempt >= attempts) throw err;
    }
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

/**
 * A TCP port that is free on 127.0.0.1 right now, picked at random below the kernel's ephemeral range. A port the
 * kernel handed out for `listen(0)` lies inside that range, where every outgoing connection on the machine takes its
 * local port too: under load (test suites side by side) one of them could take it before our server binds it.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const floor = 15_000;
  if (low - floor >= 1_000) {
    for (let tries = 0; tries < 50; tries++) {
      const port = floor + Math.floor(Math.random() * (low - floor));
      if (await canBind(port)) return port;
    }
  }
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The kernel's ephemeral port range (Linux's default when /proc cannot tell). */
function ephemeralRange(): [number, number] {
  const [low, high] = readOr('/proc/sys/net/ipv4/ip_local_port_range').trim().split(/\s+/).map(Number);
  return low && high ? [low, high] : [32_768, 60_999];
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
