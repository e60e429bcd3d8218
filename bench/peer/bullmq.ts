// The peer "as a user would build it": delayed HTTP deliveries with exponential backoff done by BullMQ on Redis.
// One Queue to add jobs, one Worker whose processor POSTs the body with undici and throws on non-2xx so BullMQ
// retries, with a custom backoff strategy equal to ours (domain/backoff.ts): attempt k ≥ 2 waits
// min(baseMs · 2^(k − 1), maxMs) after the failure of attempt k − 1.
//
// Also a process entry, so a benchmark can read the worker's RSS on its own:
//   tsx bench/peer/bullmq.ts <redisUrl> <concurrency> [queue]   (prints "ready" when the worker runs; SIGTERM stops)
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { exponentialDelayMs } from '../../domain/backoff';

/** One delayed HTTP delivery, as the peer's job data. */
export interface PeerTask {
  /** Job id (BullMQ ignores a second add with the same id, like our workflow id). */
  id: string;
  /** Receiver URL; the body is POSTed there. */
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** Milliseconds from the add until the first attempt. */
  delayMs: number;
  /** Total attempts, the first included (BullMQ `attempts`). */
  attempts: number;
  /**
   * Exponential backoff, milliseconds, as ours: attempt k ≥ 2 starts min(baseMs · 2^(k − 1), maxMs) after attempt
   * k − 1 failed (so the first retry waits 2 · baseMs; `delayMs` plays the part of the wait before attempt 1).
   */
  backoff: { baseMs: number; maxMs: number };
}

/** A running peer: a Queue and (unless turned off) a Worker on the same Redis. */
export interface BullPeer {
  /** Adds the tasks as delayed jobs (`addBulk` in chunks of {@link SUBMIT_CHUNK}). */
  submit(tasks: PeerTask[]): Promise<void>;
  /** A job's state (`delayed`, `waiting`, `active`, `completed`, `failed` …), or undefined when unknown: the peer's status read. */
  state(id: string): Promise<string | undefined>;
  /** Job counts by state (`delayed`, `waiting`, `active`, `completed`, `failed`). */
  counts(): Promise<Record<string, number>>;
  /** Closes the worker (waits for jobs in flight), the queue and their connections. */
  stop(): Promise<void>;
}

/** Options of {@link startBullPeer}. */
export interface BullPeerOptions {
  /** `redis://host:port` */
  redisUrl: string;
  /** Jobs processed in parallel by the worker (BullMQ `concurrency`). */
  concurrency: number;
  /** Queue name. @default 'bench-deliveries' */
  queue?: string;
  /** Run a Worker in this process; `false` when the worker runs in its own process. @default true */
  worker?: boolean;
}

/** Jobs per `addBulk` call (one Redis round trip of Lua per chunk). */
export const SUBMIT_CHUNK = 500;

/** Name of the custom backoff type jobs carry; the worker's `backoffStrategy` computes it. */
const BACKOFF_TYPE = 'capped-exponential';

/** Thrown by the processor for a non-2xx answer, so BullMQ counts a failed attempt and backs off. */
export class PeerDeliveryError extends Error {
  constructor(public readonly statusCode: number) {
    super(`receiver answered ${statusCode}`);
  }
}

/**
 * Our backoff, read from the job's data. BullMQ passes the attempts made so far, the failed one included, so the
 * attempt about to be scheduled is `attemptsMade + 1`: the same `exponentialDelayMs` the workflow uses.
 */
function cappedExponential(attemptsMade: number, _type?: string, _err?: Error, job?: { data: unknown }): number {
  const { baseMs, maxMs } = (job?.data as PeerTask).backoff;
  return exponentialDelayMs(attemptsMade + 1, baseMs / 1000, maxMs / 1000);
}

async function deliver(job: Job<PeerTask>): Promise<void> {
  const { url, body, headers } = job.data;
  const res = await request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new PeerDeliveryError(res.statusCode);
}

/** BullMQ needs `maxRetriesPerRequest: null` on connections that block (the worker's). */
function connect(redisUrl: string): Redis {
  return new Redis(redisUrl, { maxRetriesPerRequest: null });
}

/** Starts the BullMQ worker alone (the process entry uses it). */
export function startBullWorker(opts: Omit<BullPeerOptions, 'worker'>): {
  worker: Worker<PeerTask>;
  stop(): Promise<void>;
} {
  const connection = connect(opts.redisUrl);
  const worker = new Worker<PeerTask>(opts.queue ?? 'bench-deliveries', deliver, {
    connection,
    concurrency: opts.concurrency,
    settings: { backoffStrategy: cappedExponential },
  });
  // A failed attempt is expected (the backoff handles it); an 'error' without a listener would crash the process.
  worker.on('error', (err) => console.error(`[bullmq worker] ${err.message}`));
  return {
    worker,
    stop: async () => {
      await worker.close();
      connection.disconnect();
    },
  };
}

/** Starts the peer: a Queue for {@link BullPeer.submit} and, by default, a Worker in this process. */
export async function startBullPeer(opts: BullPeerOptions): Promise<BullPeer> {
  const name = opts.queue ?? 'bench-deliveries';
  const queueConnection = connect(opts.redisUrl);
  const queue = new Queue<PeerTask>(name, { connection: queueConnection });
  await queue.waitUntilReady();
  const worker = opts.worker === false ? undefined : startBullWorker({ ...opts, queue: name });
  if (worker) await worker.worker.waitUntilReady();
  return {
    async submit(tasks) {
      for (let i = 0; i < tasks.length; i += SUBMIT_CHUNK) {
        await queue.addBulk(
          tasks.slice(i, i + SUBMIT_CHUNK).map((task) => ({
            name: 'deliver',
            data: task,
            opts: {
              jobId: task.id,
              delay: Math.max(0, task.delayMs),
              attempts: task.attempts,
              backoff: { type: BACKOFF_TYPE },
              removeOnComplete: true,
            },
          })),
        );
      }
    },
    async state(id) {
      const job = await queue.getJob(id);
      return job ? await job.getState() : undefined;
    },
    async counts() {
      return queue.getJobCounts('delayed', 'waiting', 'active', 'completed', 'failed');
    },
    async stop() {
      await worker?.stop();
      await queue.close();
      queueConnection.disconnect();
    },
  };
}

// Process entry: only the worker, so its RSS is its own.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  const [redisUrl, concurrency, queue] = process.argv.slice(2);
  if (!redisUrl) {
    console.error('usage: tsx bench/peer/bullmq.ts <redisUrl> [concurrency] [queue]');
    process.exit(2);
  }
  const running = startBullWorker({ redisUrl, concurrency: Number(concurrency ?? 64), queue });
  running.worker
    .waitUntilReady()
    .then(() => console.log('ready'))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  const stop = () => {
    void running.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
