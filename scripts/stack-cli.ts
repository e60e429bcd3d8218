// `npm run stack`: provision and run only the local stack (Temporal dev server + Kafka; STACK_* place it as for
// `npm start`) until SIGINT or SIGTERM (or the death of the parent), then stop it and exit 0.
// `npm run stack -- --profile cluster`: the production topology instead, our workers and APIs included.
import { stopOnSignals } from '../platform/lifecycle';
import { startStack } from './stack';
import { profileFromArgs, runClusterProfile } from './stack/cluster/run';
import { devStackOptionsFromEnv } from './stack/env';

if (profileFromArgs(process.argv) === 'cluster') {
  runClusterProfile().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
} else {
  const starting = startStack(devStackOptionsFromEnv());
  stopOnSignals({
    name: 'stack',
    // A stop during start-up waits for it: a failed start has already stopped what it started.
    stop: () => starting.then((stack) => stack.stop()).catch(() => undefined),
  });
  starting.then(
    () => console.log('[stack] running; Ctrl-C to stop'),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
