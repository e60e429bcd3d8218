// The receiver process of bench/lib/receiver-process.ts: a BenchReceiver that reports its first successful arrivals
// to the parent in batches. Started with `fork`; stops on SIGTERM or when the parent goes away.
import { BenchReceiver } from './receiver';
import { ARRIVAL_BATCH_MS, type ReceiverChildMessage } from './receiver-process';

async function main() {
  let batch: [string, number][] = [];
  // Called in the tick the receiver stamped the arrival (body complete): Date.now() here is that instant.
  const receiver = await BenchReceiver.start({ onDelivered: (id) => batch.push([id, Date.now()]) });
  const send = (m: ReceiverChildMessage) => process.send?.(m);
  const flush = setInterval(() => {
    if (batch.length === 0) return;
    send({ kind: 'arrivals', arrivals: batch });
    batch = [];
  }, ARRIVAL_BATCH_MS);
  const stop = async () => {
    clearInterval(flush);
    await receiver.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('disconnect', () => void stop());
  send({ kind: 'listening', url: receiver.url });
}

main().catch((err: unknown) => {
  console.error('bench receiver process failed', err);
  process.exit(1);
});
