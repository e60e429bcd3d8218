import { readdirSync, readFileSync } from 'node:fs';
import { listenerPids } from '../../scripts/stack/ports';
import { clockTicks } from './cpu';

/** The stack's servers of one bench run, by component name: the process groups of the processes behind them. */
export type ComponentGroups = Record<string, number[]>;

/** What the bench process and its other children (workers, receivers, redis) count as. */
export const BENCH_SIDE = 'workers and bench';

interface Proc {
  pid: number;
  ppid: number;
  pgrp: number;
  /** utime + stime + cutime + cstime, clock ticks: the process and its children that have exited. */
  ticks: number;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces): state ppid pgrp … utime stime cutime cstime.
      const f = stat
        .slice(stat.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number);
      out.push({ pid: Number(entry), ppid: f[1]!, pgrp: f[2]!, ticks: f[11]! + f[12]! + f[13]! + f[14]! });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The process groups listening on each component's ports (a stack server runs in a group of its own). */
export function groupsListeningOn(ports: Record<string, number[]>): ComponentGroups {
  const groupOf = new Map(processes().map((p) => [p.pid, p.pgrp]));
  return Object.fromEntries(
    Object.entries(ports).map(([name, list]) => [
      name,
      [...new Set(list.flatMap((port) => listenerPids(port).map((pid) => groupOf.get(pid) ?? pid)))],
    ]),
  );
}

/**
 * CPU used so far, milliseconds, by each component (every live process of its groups, with their exited children)
 * and by {@link BENCH_SIDE}: this process and its other descendants (workers spawned by a scenario, receivers,
 * redis when the peer runs), with the children it has reaped.
 */
export function componentCpuMs(groups: ComponentGroups): Record<string, number> {
  const all = processes();
  const ms = (ticks: number) => (ticks * 1000) / clockTicks();
  const out: Record<string, number> = {};
  const taken = new Set<number>();
  const children = new Map<number, Proc[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  for (const [name, pgids] of Object.entries(groups)) {
    // The groups' processes and their descendants: PostgreSQL's backends each call setsid(), so they are in groups
    // of their own, under the postmaster.
    const members = all.filter((p) => pgids.includes(p.pgrp));
    for (let i = 0; i < members.length; i++) {
      for (const child of children.get(members[i]!.pid) ?? []) {
        if (!members.includes(child)) members.push(child);
      }
    }
    for (const p of members) taken.add(p.pid);
    out[name] = ms(members.reduce((sum, p) => sum + p.ticks, 0));
  }
  let ticks = 0;
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      if (taken.has(child.pid)) continue;
      ticks += child.ticks;
      visit(child.pid);
    }
  };
  visit(process.pid);
  ticks += all.find((p) => p.pid === process.pid)?.ticks ?? 0;
  out[BENCH_SIDE] = ms(ticks);
  return out;
}

/** Per-component difference of two {@link componentCpuMs} readings, milliseconds. */
export function cpuSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, ms]) => [name, ms - (before[name] ?? 0)]));
}

/** One bench environment's use of the machine, from its start to its stop (recorded by connectBenchEnv). */
export interface EnvUsage {
  /** BENCH_PROFILE of the run (`dev` or `cluster`). */
  profile: string;
  /** Workflows the environment's server holds at the stop (ours and baselines': every one the scenario started). */
  workflows: number;
  seconds: number;
  /** CPU while idle before the scenario began, milliseconds per second, by component. */
  idleMsPerSecond: Record<string, number>;
  /** CPU from the start to the stop, milliseconds, by component. */
  cpuMs: Record<string, number>;
}

/** Every environment stopped in this process, in order (bench/scenarios/profiles.ts reads them). */
export const envUsages: EnvUsage[] = [];

const IDLE_MS = 5_000;

/**
 * Starts recording an environment's use: its idle CPU over 5 s first, then CPU from there on. `finish` (at the
 * environment's stop, before its servers go) adds the {@link EnvUsage} to {@link envUsages}.
 */
export async function watchUsage(
  groups: ComponentGroups,
  profile: string,
): Promise<{ finish(countWorkflows: () => Promise<number>): Promise<void> }> {
  const idleFrom = componentCpuMs(groups);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const from = componentCpuMs(groups);
  const started = Date.now();
  const idleMsPerSecond = Object.fromEntries(
    Object.entries(cpuSince(idleFrom, from)).map(([name, ms]) => [name, ms / (IDLE_MS / 1000)]),
  );
  return {
    async finish(countWorkflows) {
      const cpuMs = cpuSince(from, componentCpuMs(groups));
      const workflows = await countWorkflows().catch(() => 0);
      envUsages.push({ profile, workflows, seconds: (Date.now() - started) / 1000, idleMsPerSecond, cpuMs });
    },
  };
}

/** Prints each environment's CPU per task by component (a `--profile` run of one scenario). */
export function printUsage(usages: readonly EnvUsage[]): void {
  for (const u of usages) {
    const per = Object.entries(u.cpuMs).map(([name, ms]) =>
      u.workflows > 0 ? `${name} ${(ms / u.workflows).toFixed(2)} ms` : `${name} ${ms.toFixed(0)} ms in all`,
    );
    console.log(
      `[${u.profile}] ${u.workflows} workflows in ${u.seconds.toFixed(0)} s; CPU per task: ${per.join(', ')}`,
    );
  }
}
