import { randomUUID } from 'node:crypto';
import { freePort } from '../scripts/stack/process';
import { until, type Child, type Lab } from './lab';

/** Our worker and API as separate processes on one task queue of the lab (what `npm run worker` / `api` run). */
export class Services {
  readonly queue = `chaos-${randomUUID()}`;
  worker?: Child;
  api?: Child;
  apiUrl = '';
  private apiPort = 0;

  constructor(
    private readonly lab: Lab,
    private readonly extraEnv: Record<string, string> = {},
  ) {}

  env(): Record<string, string> {
    return {
      TEMPORAL_ADDRESS: this.lab.temporalAddress,
      TASK_QUEUE: this.queue,
      KAFKA_BROKERS: this.lab.brokers.join(','),
      SSRF_ALLOW: '127.0.0.0/8',
      INGRESS_ENABLED: 'false',
      // Every task of a scenario shares the receiver's origin: a breaker opened by the deliberate failures would
      // defer the rest and measure the breaker, not the crash.
      BREAKER_CONSECUTIVE_FAILURES: '10000',
      ...this.extraEnv,
    };
  }

  async start(): Promise<void> {
    this.apiPort = await freePort();
    this.apiUrl = `http://127.0.0.1:${this.apiPort}`;
    this.startWorker();
    this.startApi();
    // /health answers 200 once Temporal answers and a worker polls the task queue.
    const healthy = await until(async () => (await this.health()) === 200, 180_000);
    if (!healthy) throw new Error('chaos: worker and API not healthy within 180 s');
  }

  startWorker(): void {
    this.worker = this.lab.spawn('worker/main.ts', this.env(), 'worker');
  }

  startApi(): void {
    this.api = this.lab.spawn(
      'api/main.ts',
      { ...this.env(), API_HOST: '127.0.0.1', API_PORT: String(this.apiPort) },
      'api',
    );
  }

  async health(): Promise<number> {
    return fetch(`${this.apiUrl}/health`).then(
      (r) => r.status,
      () => 0,
    );
  }

  /** kill -9 of one of our processes; resolves once it is gone. */
  async kill9(child: Child | undefined): Promise<void> {
    child?.proc.kill('SIGKILL');
    await child?.exited;
  }

  /** SIGTERM to both, as a supervisor stops them; resolves with their exit codes. */
  async stop(): Promise<(number | null)[]> {
    const children = [this.api, this.worker].filter((c): c is Child => c !== undefined);
    for (const child of children) child.proc.kill('SIGTERM');
    return Promise.all(children.map((c) => c.exited));
  }

  /** POST /tasks for each task (10 at a time); returns when each was submitted (before its request), by id. */
  async submit(tasks: Record<string, unknown>[]): Promise<Map<string, number>> {
    const submitted = new Map<string, number>();
    for (let i = 0; i < tasks.length; i += 10) {
      await Promise.all(
        tasks.slice(i, i + 10).map(async (task) => {
          const at = Date.now();
          const res = await fetch(`${this.apiUrl}/tasks`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(task),
          });
          if (res.status !== 201) throw new Error(`chaos: POST /tasks answered ${res.status}: ${await res.text()}`);
          submitted.set(String(task.id), at);
        }),
      );
    }
    return submitted;
  }
}

/** An HTTP task to the chaos receiver. */
export function httpTask(id: string, url: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    source: 'chaos',
    client_id: 'chaos',
    destination_type: 'http',
    destination: { url },
    max_retries: 5,
    base_delay: 2,
    http_timeout: 10,
    message_data: JSON.stringify({ id }),
    ...over,
  };
}
