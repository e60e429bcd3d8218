import { ReceiverServer, type Arrival } from '../../testkit/http-receiver';
import { CountWaiters } from './count-waiters';

/** Options of a {@link BenchReceiver}. */
export interface BenchReceiverOptions {
  /** Answer 503 to the first `failFirst` requests of every id, then 200. @default 0 */
  failFirst?: number;
  /** Called once per id when its first successful (200) request arrives; e.g. to tick a progress bar. */
  onDelivered?: (id: string) => void;
}

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  id: string;
  /** Wall-clock arrival, epoch milliseconds (comparable with Date.now() elsewhere in the process). */
  at: number;
  /** Monotonic arrival, milliseconds (performance.now() of this process). */
  hrAt: number;
  /** Status the receiver answered. */
  status: number;
}

/**
 * A local webhook receiver for benchmarks (testkit/http-receiver.ts: node:http on 127.0.0.1, a free port, arrival
 * stamped when the body is complete). Identifies each delivery by the `bench_id` field of a JSON body, else the
 * `Idempotency-Key` header (the task id), else `X-Message-Key`; counts requests per id, answers 503 to the first
 * `failFirst` of each id and 200 after, and keeps every arrival's time stamps.
 */
export class BenchReceiver {
  private server?: ReceiverServer;
  private readonly perId = new Map<string, number>();
  private readonly delivered = new Map<string, ReceivedRequest>();
  private readonly log: ReceivedRequest[] = [];
  private readonly waiters = new CountWaiters(
    () => this.delivered.size,
    (have, n, ms) => `receiver: ${have}/${n} deliveries within ${ms} ms`,
  );

  constructor(private readonly opts: BenchReceiverOptions = {}) {}

  /** Starts a receiver and resolves once it listens. */
  static async start(opts: BenchReceiverOptions = {}): Promise<BenchReceiver> {
    const receiver = new BenchReceiver(opts);
    await receiver.listen();
    return receiver;
  }

  /** Listens on 127.0.0.1 on a free port. Called by {@link BenchReceiver.start}. */
  async listen(): Promise<void> {
    this.server = await ReceiverServer.start(
      (arrival, res) => {
        const { at, hrAt } = arrival;
        const id = idOf(arrival);
        const seen = (this.perId.get(id) ?? 0) + 1;
        this.perId.set(id, seen);
        const status = seen <= (this.opts.failFirst ?? 0) ? 503 : 200;
        const record = { id, at, hrAt, status };
        this.log.push(record);
        if (status === 200 && !this.delivered.has(id)) {
          this.delivered.set(id, record);
          this.opts.onDelivered?.(id);
          this.waiters.notify();
        }
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'try again');
      },
      { keepAliveTimeoutMs: 60_000 },
    );
  }

  /** Base URL, e.g. `http://127.0.0.1:40123`; deliver to `${url}/hook`. */
  get url(): string {
    return this.server?.origin ?? '';
  }

  /** Distinct ids that got a 200 so far. */
  get deliveredCount(): number {
    return this.delivered.size;
  }

  /** Requests received for `id` (failed and successful). */
  count(id: string): number {
    return this.perId.get(id) ?? 0;
  }

  /**
   * Resolves once `n` distinct ids got a 200.
   * @param timeoutMs give up after this many milliseconds (rejects, saying how many arrived)
   */
  waitFor(n: number, timeoutMs: number): Promise<void> {
    return this.waiters.waitFor(n, timeoutMs);
  }

  /** First successful arrival per id, in arrival order; `at` in epoch milliseconds. */
  arrivals(): { id: string; at: number }[] {
    return [...this.delivered.values()].map(({ id, at }) => ({ id, at }));
  }

  /** Every request received, failed ones included, in arrival order. */
  requests(): readonly ReceivedRequest[] {
    return this.log;
  }

  /** Closes the server (idle keep-alive connections too). */
  async stop(): Promise<void> {
    await this.server?.stop();
  }
}

function idOf({ body, headers }: Pick<Arrival, 'body' | 'headers'>): string {
  if (body.includes('bench_id')) {
    try {
      const parsed = JSON.parse(body) as { bench_id?: unknown };
      if (typeof parsed.bench_id === 'string') return parsed.bench_id;
    } catch {
      // not JSON: fall back to the headers
    }
  }
  const header = headers['idempotency-key'] ?? headers['x-message-key'];
  return (Array.isArray(header) ? header[0] : header) ?? '(no id)';
}
