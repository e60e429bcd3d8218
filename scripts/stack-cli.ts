// `npm run stack`: provision and run only the local stack (Temporal dev server + Kafka) until Ctrl-C.
// `npm run stack -- --profile cluster`: the production topology instead, our workers and APIs included.
import { startStack } from './stack';
import { profileFromArgs, runClusterProfile } from './stack/cluster/run';

async function run() {
  if (profileFromArgs(process.argv) === 'cluster') return runClusterProfile();
  const stack = await startStack({ mode: 'dev' });
  console.log('[stack] running; Ctrl-C to stop');
  let stopping = false;
  const shutdown = () => {
    // Ctrl-C may arrive twice (the terminal and a relaying parent): stop once, never die mid-stop.
    if (stopping) return;
    stopping = true;
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
