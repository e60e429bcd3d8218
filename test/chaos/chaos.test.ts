import { describe, expect, it } from 'vitest';
import { breaches, table } from '../../chaos/report';
import { runChaos } from '../../chaos/suite';

// The chaos suite at its small size (chaos/suite.ts) on a lab stack of its own, for the faults that take seconds to
// inject and recover from: kill -9 of the worker mid-delivery, of the Temporal dev server with tasks pending and of
// the API mid-batch, and a port clash. `npm run chaos` runs every scenario (the Kafka broker restarts, the other
// worker kills, SIGTERM to npm start; larger with --size large) and writes RELIABILITY.md.
const inCi = ['worker-mid-delivery', 'temporal-restart', 'api-mid-batch', 'port-clash'];
describe('chaos (small)', () => {
  it('loses no task, delivers nothing early, leaves no process behind and bounds duplicates under every fault', async () => {
    const rows = await runChaos('small', inCi);
    console.log(table(rows));
    expect(breaches(rows)).toEqual([]);
    expect(rows.map((r) => r.scenario)).toEqual(inCi);
  }, 600_000);
});
