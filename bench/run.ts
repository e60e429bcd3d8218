// `npm run bench -- <scenario|all> [--quick] [scenario options]`: runs a scenario, prints its rows with PASS/MISS for
// the targets, writes bench/results/<scenario>-<date>.json and regenerates the table in BENCHMARKS.md.
// Without a scenario, lists them. Every comparison point is measured in the same run on the same machine.
import { stringArg } from './lib/cli';
import { envUsages, printUsage } from './lib/components';
import { scenarios } from './scenarios';

function usage(): string {
  const width = Math.max(...Object.keys(scenarios).map((n) => n.length), 3);
  return [
    'usage: npm run bench -- <scenario|all> [--quick] [options]',
    '',
    ...Object.entries(scenarios).map(([name, s]) => `  ${name.padEnd(width)}  ${s.describe}`),
    `  ${'all'.padEnd(width)}  every scenario above but profiles (which needs the cluster build), in order`,
    '',
    '  --quick            tiny sizes (seconds) to try the harness',
    '  --profile cluster  run on the cluster profile (PostgreSQL, built Temporal server, 3 Kafka nodes) instead of',
    '                     the dev server, recording CPU per component (`profiles` runs both side by side)',
    '  --set KEY=VALUE    config override for our worker/API (platform/config.ts), repeatable',
    '  BENCH_RESULTS_DIR  where results go (default bench/results, --quick: <tmp>/bench-quick; the table follows)',
  ].join('\n');
}

async function main() {
  const argv = process.argv.slice(2);
  const at = argv.findIndex((a) => !a.startsWith('-'));
  const name = at >= 0 ? argv[at] : undefined;
  if (!name || argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  // Only the scenario's own word: a value may spell the same (`ordered --sides ordered`).
  const rest = argv.filter((_, i) => i !== at);
  const quick = rest.includes('--quick');
  const profile = stringArg(rest, '--profile');
  if (profile !== undefined) process.env.BENCH_PROFILE = profile;
  // saveResults keeps quick figures out of bench/results and BENCHMARKS.md.
  if (quick) process.env.BENCH_QUICK = '1';
  const args = rest.filter((a, i) => a !== '--quick' && !a.startsWith('--profile') && rest[i - 1] !== '--profile');
  const chosen = name === 'all' ? Object.keys(scenarios).filter((s) => s !== 'profiles') : [name];
  for (const scenario of chosen) {
    const entry = scenarios[scenario];
    if (!entry) {
      console.error(`unknown scenario ${scenario}\n\n${usage()}`);
      process.exitCode = 2;
      return;
    }
    console.log(`\n=== ${scenario}${quick ? ' (quick)' : ''}: ${entry.describe}`);
    const started = Date.now();
    const from = envUsages.length;
    await entry.run({ quick, args });
    if (profile !== undefined && scenario !== 'profiles') printUsage(envUsages.slice(from));
    console.log(`=== ${scenario} done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

main().then(
  // Pools and SDK native handles may keep the loop alive after everything was stopped.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
