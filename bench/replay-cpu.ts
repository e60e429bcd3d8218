// `npx tsx bench/replay-cpu.ts [--n 300] [--rounds 5] [--history FILE] BUNDLE…`: workflow-side CPU per task, A/B.
// Replays one recorded history (default: the lean first-try task) n times per bundle in this thread (replay runs
// workflows in debug mode, on the main thread), rounds interleaved, and prints CPU per replay (process.cpuUsage) and
// workflow promises per replay (a promise hook counting the sandbox's promises). Each BUNDLE is a file written by
// bundleWorkflowCode (`code`, with its inline source map). No server needed; compare bundles in one run only.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { historyFromStoredJson } from '../test/workflows/stored-history';
import { numberArg, stringArg } from './lib/cli';
import { median } from './lib/stats';

/** Replays before measuring, per bundle and round: bundle load, source-map parse, JIT. */
const WARMUP = 30;

async function main() {
  const args = process.argv.slice(2);
  const n = numberArg(args, '--n', 300);
  const rounds = numberArg(args, '--rounds', 5);
  const historyFile =
    stringArg(args, '--history') ?? path.join(__dirname, '../test/workflows/histories/14-lean-http-first-try.json');
  const bundles = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (bundles.length === 0)
    throw new Error('usage: npx tsx bench/replay-cpu.ts [--n N] [--rounds R] [--history FILE] BUNDLE…');
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const history = historyFromStoredJson(readFileSync(historyFile, 'utf8'));
  let promises = 0;
  v8.promiseHooks.onInit((p) => {
    if ((p as Promise<unknown>).constructor !== Promise) promises++;
  });

  const cpu = new Map<string, number[]>(bundles.map((b) => [b, []]));
  for (let round = 0; round < rounds; round++) {
    for (const bundle of round % 2 === 0 ? bundles : [...bundles].reverse()) {
      const ids = Array.from({ length: WARMUP + n }, (_, i) => ({ workflowId: `r${round}-${i}`, history }));
      let done = -WARMUP;
      let start = { cpu: process.cpuUsage(), promises };
      for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: path.resolve(bundle) } }, ids)) {
        if (r.error) throw r.error;
        if (++done === 0) start = { cpu: process.cpuUsage(), promises };
      }
      const used = process.cpuUsage(start.cpu);
      const ms = (used.user + used.system) / 1000 / n;
      cpu.get(bundle)!.push(ms);
      const load = os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ');
      console.log(
        `round ${round + 1} ${bundle}: ${ms.toFixed(2)} ms CPU per replay, ${((promises - start.promises) / n).toFixed(1)} promises per replay (load ${load})`,
      );
    }
  }
  for (const [bundle, values] of cpu) console.log(`median ${bundle}: ${median(values).toFixed(2)} ms CPU per replay`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
