import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpClient } from '../../destinations/http/client';
import { waitBeforeAttemptMs } from '../../domain/backoff';
import { TaskInput } from '../../domain/task';
import { numberArg, type Scenario } from '../lib/cli';
import { saveResults, type ResultRow } from '../lib/results';
import { median } from '../lib/stats';

/**
 * Micro benchmarks, side by side in one run:
 * 1. HTTP delivery client: our SSRF-guarded undici pool (destinations/http/client.ts) vs global fetch, same receiver,
 *    alternating the order each round, median of the rounds.
 * 2. Backoff math: waitBeforeAttemptMs per call (pure, used by every workflow wait).
 */

async function timeIt(n: number, concurrency: number, one: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await one();
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return n / seconds;
}

/** Requests/s of our delivery client and of fetch at concurrency 1 and 20 (median of `rounds`). */
export async function measureHttpClient(requests: number, rounds: number): Promise<ResultRow[]> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const client = createHttpClient({ ssrfAllow: ['127.0.0.1'] });
  const body = JSON.stringify({ order: 42, items: [1, 2, 3] });
  const headers = { 'content-type': 'application/json' };
  const ours = () => client.send({ url, method: 'POST', headers, body, timeoutMs: 5_000 });
  const viaFetch = async () => {
    const res = await fetch(url, { method: 'POST', headers, body });
    await res.text();
  };
  const rows: ResultRow[] = [];
  try {
    for (const concurrency of [1, 20]) {
      const results = { ours: [] as number[], fetch: [] as number[] };
      for (let round = 0; round < rounds; round++) {
        // Alternate the order each round so warm-up and machine noise hit both sides alike.
        const pair: ['ours' | 'fetch', () => Promise<unknown>][] = [
          ['ours', ours],
          ['fetch', viaFetch],
        ];
        if (round % 2 === 1) pair.reverse();
        for (const [name, fn] of pair) results[name].push(await timeIt(requests, concurrency, fn));
      }
      rows.push({
        scenario: 'micro',
        case: `http client c=${concurrency}`,
        metric: 'requests/s (baseline = global fetch)',
        unit: 'req/s',
        ours: median(results.ours),
        baseline: median(results.fetch),
      });
    }
  } finally {
    await client.close();
    server.close();
  }
  return rows;
}

/** Nanoseconds per waitBeforeAttemptMs call (equal jitter, capped). */
export function measureBackoff(calls = 1_000_000): ResultRow {
  const task = TaskInput.parse({
    id: 'b',
    source: 's',
    client_id: 'c',
    destination_type: 'http',
    destination: { url: 'https://x.example/' },
    max_retries: 10,
    base_delay: 10,
    max_delay: 3600,
    jitter: 'equal',
    message_data: 'x',
  });
  const started = process.hrtime.bigint();
  let sum = 0;
  for (let i = 0; i < calls; i++) sum += waitBeforeAttemptMs(task, (i % 10) + 1, 0, (i % 97) / 97);
  const ns = Number(process.hrtime.bigint() - started) / calls;
  if (!Number.isFinite(sum)) throw new Error('backoff checksum is not finite');
  return { scenario: 'micro', case: 'backoff math', metric: 'waitBeforeAttemptMs', unit: 'ns/call', ours: ns };
}

/** `npm run bench -- micro [--quick] [--requests N]` (BENCH_REQUESTS is honoured too). */
export const microScenario: Scenario = {
  describe: 'micro: delivery HTTP client vs fetch, backoff math (no Temporal needed)',
  async run({ quick, args }) {
    const requests = numberArg(args, '--requests', Number(process.env.BENCH_REQUESTS ?? (quick ? 300 : 3000)));
    const rows = [...(await measureHttpClient(requests, 3)), measureBackoff(quick ? 100_000 : 1_000_000)];
    saveResults('micro', rows, { requests_per_side_per_round: requests, rounds: 3, quick });
  },
};
