import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time used so far, milliseconds: this process (worker, client, receiver) and the Temporal server process. */
export interface CpuSnapshot {
  selfMs: number;
  /** Undefined when the server is not a local process we can read (TEMPORAL_ADDRESS elsewhere, not Linux). */
  serverMs?: number;
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

/** CPU used so far by this process and (when given and readable) the server process. */
export function cpuSnapshot(serverPid?: number): CpuSnapshot {
  const { user, system } = process.cpuUsage();
  return { selfMs: (user + system) / 1000, serverMs: serverPid === undefined ? undefined : processCpuMs(serverPid) };
}

/** CPU per unit of work between two snapshots, milliseconds: `{ self, server }`. */
export function cpuPer(before: CpuSnapshot, after: CpuSnapshot, units: number): { self: number; server?: number } {
  const per = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : (b - a) / units);
  return { self: per(before.selfMs, after.selfMs)!, server: per(before.serverMs, after.serverMs) };
}
