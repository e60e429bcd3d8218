// `npm run bench -- <scenario|all> [--quick] [scenario options]`: runs a scenario, prints its rows with PASS/MISS for
// the targets, writes bench/results/<scenario>-<date>.json and regenerates the table in BENCHMARKS.md.
// Without a scenario, lists them. Every comparison point is measured in the same run on the same machine.
import { scenarios } from './scenarios';

function usage(): string {
  const width = Math.max(...Object.keys(scenarios).map((n) => n.length), 3);
  return [
    'usage: npm run bench -- <scenario|all> [--quick] [options]',
    '',
    ...Object.entries(scenarios).map(([name, s]) => `  ${name.padEnd(width)}  ${s.describe}`),
    `  ${'all'.padEnd(width)}  every scenario above, in order`,
    '',
    '  --quick            tiny sizes (seconds) to try the harness',
    '  --set KEY=VALUE    config override for our worker/API (platform/config.ts), repeatable',
    '  BENCH_RESULTS_DIR  where results go (default bench/results, --quick: <tmp>/bench-quick; the table follows)',
  ].join('\n');
}

async function main() {
  const argv = process.argv.slice(2);
  const name = argv.find((a) => !a.startsWith('-'));
  if (!name || argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  const rest = argv.filter((a) => a !== name);
  const quick = rest.includes('--quick');
  // saveResults keeps quick figures out of bench/results and BENCHMARKS.md.
  if (quick) process.env.BENCH_QUICK = '1';
  const args = rest.filter((a) => a !== '--quick');
  const chosen = name === 'all' ? Object.keys(scenarios) : [name];
  for (const scenario of chosen) {
    const entry = scenarios[scenario];
    if (!entry) {
      console.error(`unknown scenario ${scenario}\n\n${usage()}`);
      process.exitCode = 2;
      return;
    }
    console.log(`\n=== ${scenario}${quick ? ' (quick)' : ''}: ${entry.describe}`);
    const started = Date.now();
    await entry.run({ quick, args });
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
