// `npm run bench`: side-by-side measurements in one run; results are written to BENCHMARKS.md by hand from its output.
// 1. HTTP delivery client: our SSRF-guarded undici pool (destinations/http-client.ts) vs global fetch, same receiver.
// 2. Backoff math: waitBeforeAttemptMs per call (pure, used by every workflow wait).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpClient } from '../destinations/http-client';
import { waitBeforeAttemptMs } from '../domain/backoff';
import { TaskInput } from '../domain/task';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const ROUNDS = 3;

async function timeIt(label: string, n: number, concurrency: number, one: () => Promise<unknown>) {
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await one();
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { label, perSecond: n / seconds };
}

async function httpBench() {
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
  for (const concurrency of [1, 20]) {
    const results: Record<string, number[]> = { ours: [], fetch: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order each round so warm-up and machine noise hit both sides alike.
      const pair =
        round % 2 === 0
          ? ([
              ['ours', ours],
              ['fetch', viaFetch],
            ] as const)
          : ([
              ['fetch', viaFetch],
              ['ours', ours],
            ] as const);
      for (const [name, fn] of pair) results[name]!.push((await timeIt(name, REQUESTS, concurrency, fn)).perSecond);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const o = median(results.ours!);
    const f = median(results.fetch!);
    console.log(
      `http concurrency=${concurrency}: guarded undici pool ${o.toFixed(0)} req/s, fetch ${f.toFixed(0)} req/s, ratio ${(o / f).toFixed(2)}x`,
    );
  }
  await client.close();
  server.close();
}

function backoffBench() {
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
  const n = 1_000_000;
  const started = process.hrtime.bigint();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += waitBeforeAttemptMs(task, (i % 10) + 1, 0, (i % 97) / 97);
  const ns = Number(process.hrtime.bigint() - started) / n;
  console.log(`backoff: waitBeforeAttemptMs ${ns.toFixed(0)} ns/call (checksum ${sum})`);
}

async function main() {
  await httpBench();
  backoffBench();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
