// `npm run chaos -- [scenario …] [--size small|large]`: faults against the real stack (chaos/scenarios*.ts), figures
// per scenario, RELIABILITY.md regenerated. Exits 1 when a scenario loses a task, delivers early, leaves a process
// behind or duplicates more than its bound.
import os from 'node:os';
import { breaches, table, writeReliability } from './report';
import { scenarios } from './scenarios';
import { runChaos, sizes, type Size } from './suite';

async function main() {
  const argv = process.argv.slice(2);
  const sizeArg = argv.includes('--size') ? argv[argv.indexOf('--size') + 1] : 'small';
  if (!sizeArg || !(sizeArg in sizes)) throw new Error(`--size must be one of ${Object.keys(sizes).join(', ')}`);
  const size = sizeArg as Size;
  const names = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--size');
  const chosen = names.length ? names : Object.keys(scenarios);
  const startedAt = new Date();
  const loadAtStart = os.loadavg();
  console.log(`chaos: ${chosen.length} scenario(s), size ${size} (${sizes[size]} tasks each)`);
  const rows = await runChaos(size, chosen, (f) => console.log(`chaos: ${f.scenario} done: ${JSON.stringify(f)}`));
  console.log(`\n${table(rows)}\n`);
  await writeReliability(rows, size, startedAt, loadAtStart);
  const failed = breaches(rows);
  if (failed.length) {
    console.error(`chaos: FAILED\n${failed.join('\n')}`);
    process.exitCode = 1;
  } else console.log('chaos: all invariants held (0 lost, 0 early, 0 leftovers, duplicates within bounds)');
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
