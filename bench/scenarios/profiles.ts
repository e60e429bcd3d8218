import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_SIDE, envUsages, type EnvUsage } from '../lib/components';
import { stringArg, type Scenario } from '../lib/cli';
import { benchProfiles, type BenchProfile } from '../lib/profile';
import { latestResults, saveResults, type ResultFile, type ResultRow } from '../lib/results';

/** What each scenario is given in both profiles: the comparison is dev vs cluster, so no BullMQ peer. */
const scenarioArgs: Record<string, string[]> = { 'first-try': ['--no-peer'], scale: ['--no-peer'] };

interface ProfileRun {
  file?: ResultFile;
  usage: EnvUsage[];
}

/** CPU per workflow of each component over the scenario's environments, milliseconds (undefined: none counted). */
function cpuPerTask(usage: EnvUsage[]): Record<string, number | undefined> {
  const workflows = usage.reduce((n, u) => n + u.workflows, 0);
  const names = [...new Set(usage.flatMap((u) => Object.keys(u.cpuMs)))];
  return Object.fromEntries(
    names.map((name) => {
      const ms = usage.reduce((sum, u) => sum + (u.cpuMs[name] ?? 0), 0);
      return [name, workflows > 0 ? ms / workflows : undefined];
    }),
  );
}

/** Side-by-side rows of one scenario: ours = the cluster profile, baseline = the dev server. */
function compare(name: string, dev: ProfileRun, cluster: ProfileRun): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const row of cluster.file?.rows ?? []) {
    const twin = dev.file?.rows.find((r) => r.case === row.case && r.metric === row.metric);
    rows.push({
      scenario: 'profiles',
      case: `${name} ${row.case}`,
      metric: row.metric,
      unit: row.unit,
      ours: row.ours,
      ...(twin ? { baseline: twin.ours } : {}),
    });
  }
  const [devCpu, clusterCpu] = [cpuPerTask(dev.usage), cpuPerTask(cluster.usage)];
  const [devIdle, clusterIdle] = [dev.usage[0]?.idleMsPerSecond ?? {}, cluster.usage[0]?.idleMsPerSecond ?? {}];
  const components = [...new Set([...Object.keys(clusterCpu), ...Object.keys(devCpu)])].sort((a, b) =>
    a === BENCH_SIDE ? 1 : b === BENCH_SIDE ? -1 : a.localeCompare(b),
  );
  for (const c of components) {
    const ours = clusterCpu[c] ?? 0;
    const baseline = devCpu[c];
    rows.push({
      scenario: 'profiles',
      case: name,
      metric: `${c} CPU per task`,
      unit: 'ms',
      ours,
      ...(baseline !== undefined ? { baseline } : {}),
    });
    rows.push({
      scenario: 'profiles',
      case: name,
      metric: `${c} CPU while idle`,
      unit: 'ms/s',
      ours: clusterIdle[c] ?? 0,
      ...(devIdle[c] !== undefined ? { baseline: devIdle[c] } : {}),
    });
  }
  return rows;
}

/** Arguments for one scenario: its defaults here, then `--<name>-args "…"` from the command line (e.g. sizes). */
function argsOf(name: string, args: string[]): string[] {
  const extra = stringArg(args, `--${name}-args`);
  return [...(scenarioArgs[name] ?? []), ...(extra ? extra.split(/\s+/).filter(Boolean) : [])];
}

/** `npm run bench -- profiles [--quick] [--scenarios first-try,timer,scale] [--timer-args "--sizes 1000"]` */
export const profilesScenario: Scenario = {
  describe:
    'dev server vs cluster profile in one run: first-try, timer and scale on each (--scenarios a,b), their figures ' +
    'side by side (ours = cluster, baseline = dev) and CPU per task per component (Temporal server, PostgreSQL, ' +
    'Kafka, workers and bench); --<scenario>-args "…" passes options to one scenario in both profiles',
  async run({ quick, args }) {
    // Imported here: the scenario list imports this file.
    const { scenarios } = await import('./index');
    const chosen = (stringArg(args, '--scenarios') ?? 'first-try,timer,scale').split(',').filter(Boolean);
    for (const name of chosen) if (!scenarios[name] || name === 'profiles') throw new Error(`--scenarios: ${name}?`);
    const work = mkdtempSync(path.join(os.tmpdir(), 'bench-profiles-'));
    const saved = { profile: process.env.BENCH_PROFILE, dir: process.env.BENCH_RESULTS_DIR };
    const runs = new Map<string, ProfileRun>();
    try {
      for (const name of chosen) {
        for (const profile of benchProfiles) {
          console.log(`\n--- ${name} on the ${profile} profile`);
          process.env.BENCH_PROFILE = profile;
          process.env.BENCH_RESULTS_DIR = path.join(work, profile);
          const from = envUsages.length;
          await scenarios[name]!.run({ quick, args: argsOf(name, args) });
          const file = latestResults(path.join(work, profile)).find((f) => f.scenario === name);
          runs.set(`${name}/${profile}`, { file, usage: envUsages.slice(from) });
        }
      }
    } finally {
      for (const [name, value] of [
        ['BENCH_PROFILE', saved.profile],
        ['BENCH_RESULTS_DIR', saved.dir],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    const get = (name: string, profile: BenchProfile) => runs.get(`${name}/${profile}`)!;
    const rows = chosen.flatMap((name) => compare(name, get(name, 'dev'), get(name, 'cluster')));
    saveResults('profiles', rows, {
      quick,
      args: Object.fromEntries(chosen.map((name) => [name, argsOf(name, args)])),
      notes:
        'ours = cluster profile (Temporal server on PostgreSQL, 8 history shards, 3 Kafka nodes), baseline = dev ' +
        'server (SQLite, 1 shard; 1 Kafka broker for first-try). CPU per task = CPU of the component from the ' +
        "environment's start to its stop (warm-ups and the scenario's baselines included) / workflows it holds at " +
        `the stop. "${BENCH_SIDE}" = the bench process and its children (in-process or spawned workers, receivers, ` +
        "timer's redis). CPU while idle: the 5 s before the scenario began.",
      usage: Object.fromEntries([...runs].map(([key, run]) => [key, run.usage])),
    });
  },
};
