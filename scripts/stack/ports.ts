import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';

/** Thrown when a port the stack needs is taken by a process it did not start. */
export class PortInUseError extends Error {
  constructor(
    public readonly port: number,
    public readonly variable: string,
    public readonly holder: string | undefined,
  ) {
    super(
      `port ${port} is already in use${holder ? ` by ${holder}` : ''}: stop that process or set ${variable} ` +
        'to a free port',
    );
  }
}

/**
 * Fails with {@link PortInUseError} when one of `ports` (keyed by the variable that moves it, e.g.
 * `STACK_TEMPORAL_PORT`) cannot be bound on 127.0.0.1, before any server is started on it: a server that lost the
 * race for its port must never look ready because someone else's server answers there.
 */
export async function assertPortsFree(ports: Record<string, number>): Promise<void> {
  for (const [variable, port] of Object.entries(ports)) {
    if (await canBind(port)) continue;
    throw new PortInUseError(port, variable, describeHolders(port));
  }
}

/** True when 127.0.0.1:port can be bound right now. */
export async function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** "pid 123 (temporal server start-dev …)" for the processes listening on `port`, when /proc tells. */
function describeHolders(port: number): string | undefined {
  const pids = listenerPids(port);
  if (pids.length === 0) return undefined;
  return pids.map((pid) => `pid ${pid} (${commandLine(pid).slice(0, 120)})`).join(', ');
}

/**
 * Pids of the processes listening on TCP `port` (Linux /proc; empty where it cannot tell, e.g. another user's
 * process or another OS).
 */
export function listenerPids(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st … inode; st 0A = LISTEN
      const fields = line.trim().split(/\s+/);
      const localPort = fields[1]?.split(':')[1];
      if (fields[3] === '0A' && localPort && parseInt(localPort, 16) === port && fields[9]) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
      } catch {
        return false;
      }
    });
    if (holds) pids.push(Number(pid));
  }
  return pids;
}

/** The process group of `pid`, or undefined when it is gone or /proc cannot tell. */
export function processGroup(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so read after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return 'command unknown';
  }
}
