import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time used so far, milliseconds: this process (worker, client, receiver) and the Temporal server process. */
export interface CpuSnapshot {
  selfMs: number;
  /** Undefined when the server is not a local process we can read (TEMPORAL_ADDRESS elsewhere, not Linux). */
  serverMs?: number;
  /** Busy CPU of the whole machine (every process, from /proc/stat); undefined when unreadable. */
  machineMs?: number;
}

let ticksPerSecond: number | undefined;
/** Clock ticks per second of /proc/<pid>/stat times (getconf CLK_TCK). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * Process id of the local `temporal server start-dev` listening on `address`'s port (from /proc), if any.
 * @param address host:port of the frontend
 */
export function findTemporalServerPid(address: string): number | undefined {
  const port = address.split(':').pop();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  for (const pid of entries) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const at = args.indexOf('--port');
      // The stack runs the server under scripts/stack/watchdog.sh, whose command line repeats the server's: skip it.
      const underWatchdog = args.some((a) => a.endsWith('watchdog.sh'));
      if (!underWatchdog && args.includes('start-dev') && at >= 0 && args[at + 1] === port) return Number(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

/** User + system CPU of process `pid`, milliseconds (from /proc/<pid>/stat), or undefined when unreadable. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at state: utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return undefined;
  }
}

/** Busy CPU time of all cores since boot, milliseconds (/proc/stat: everything but idle and iowait). */
export function machineBusyMs(): number | undefined {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return ((total - idle) * 1000) / clockTicks();
  } catch {
    return undefined;
  }
}

/** CPU used so far by this process, (when given and readable) the server process, and the whole machine. */
export function cpuSnapshot(serverPid?: number): CpuSnapshot {
  const { user, system } = process.cpuUsage();
  return {
    selfMs: (user + system) / 1000,
    serverMs: serverPid === undefined ? undefined : processCpuMs(serverPid),
    machineMs: machineBusyMs(),
  };
}

/** CPU per unit of work between two snapshots, milliseconds. */
export interface CpuPerUnit {
  self: number;
  server?: number;
  /** Every other process on the machine (receiver, Kafka broker, Redis, neighbours): machine − self − server. */
  other?: number;
}

/** CPU per unit of work between two snapshots, milliseconds: `{ self, server, other }`. */
export function cpuPer(before: CpuSnapshot, after: CpuSnapshot, units: number): CpuPerUnit {
  const per = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : (b - a) / units);
  const self = per(before.selfMs, after.selfMs)!;
  const server = per(before.serverMs, after.serverMs);
  const machine = per(before.machineMs, after.machineMs);
  return { self, server, ...(machine !== undefined ? { other: Math.max(0, machine - self - (server ?? 0)) } : {}) };
}
