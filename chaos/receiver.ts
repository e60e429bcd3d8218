import { ReceiverServer } from '../testkit/http-receiver';

/** One request as the chaos receiver saw it. */
export interface Arrival {
  /** `Idempotency-Key` (the task id). */
  key: string;
  path: string;
  /** Arrival of the full request, epoch milliseconds. */
  at: number;
  /** Accepted (answered 2xx, or about to be): a delivery, as opposed to a refused attempt. */
  ok: boolean;
}

/**
 * The receiving end of every chaos scenario (testkit/http-receiver.ts: node:http on 127.0.0.1). Records each request by `Idempotency-Key` and
 * path on arrival (what a receiver sees, whether or not its answer reaches the sender); `/fail…` answers 503,
 * `/flaky…` answers 503 to a key's first request and 200 after, `/slow…` holds the answer `holdMs` before 200 (so a
 * kill lands mid-delivery), anything else answers 200 at once.
 */
export class ChaosReceiver {
  readonly arrivals: Arrival[] = [];
  /** Requests received and not answered yet: deliveries in flight. */
  open = 0;
  private server?: ReceiverServer;
  url = '';

  constructor(private readonly holdMs = 3_000) {}

  async start(): Promise<this> {
    this.server = await ReceiverServer.start(
      ({ url: path, headers, at }, res) => {
        const key = String(headers['idempotency-key'] ?? '');
        const refused =
          path.startsWith('/fail') ||
          (path.startsWith('/flaky') && !this.arrivals.some((a) => a.key === key && a.path === path));
        this.arrivals.push({ key, path, at, ok: !refused });
        if (refused) return void res.writeHead(503).end('down');
        if (!path.startsWith('/slow')) return void res.writeHead(200).end('ok');
        this.open++;
        setTimeout(() => {
          this.open--;
          res.writeHead(200).end('ok');
        }, this.holdMs);
      },
      { keepAliveTimeoutMs: 60_000 },
    );
    this.url = this.server.origin;
    return this;
  }

  /** Accepted deliveries on paths starting with `prefix`: arrival times by key. */
  deliveries(prefix: string): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const a of this.arrivals) {
      if (a.ok && a.path.startsWith(prefix)) out.set(a.key, [...(out.get(a.key) ?? []), a.at]);
    }
    return out;
  }

  /** Requests (accepted or refused) on paths starting with `prefix`. */
  count(prefix: string): number {
    return this.arrivals.filter((a) => a.path.startsWith(prefix)).length;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}
