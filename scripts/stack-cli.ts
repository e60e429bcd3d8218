// `npm run stack`: provision and run only the local stack (Temporal dev server + Kafka) until Ctrl-C.
import { startStack } from './stack';

async function run() {
  const stack = await startStack({ mode: 'dev' });
  console.log('[stack] running; Ctrl-C to stop');
  const shutdown = () => {
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
