// `npm run stack`: provision and run only the local stack (Temporal dev server + Kafka) until Ctrl-C.
// `npm run stack -- --profile cluster`: the production topology instead, our workers and APIs included.
import { startStack } from './stack';
import { profileFromArgs, runClusterProfile, stopOnSignals } from './stack/cluster/run';

async function run() {
  if (profileFromArgs(process.argv) === 'cluster') return runClusterProfile();
  const stack = await startStack({ mode: 'dev' });
  console.log('[stack] running; Ctrl-C to stop');
  stopOnSignals(() => stack.stop());
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
