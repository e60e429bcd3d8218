import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { BenchReceiverOptions } from './receiver';
import { CountWaiters } from './count-waiters';
import { processCpuMs } from './cpu';

/** Messages from the receiver process (bench/lib/receiver-child.ts) to its parent. */
export type ReceiverChildMessage =
  | { kind: 'listening'; url: string }
  /** First successful arrivals since the last batch: id and epoch ms, in arrival order. */
  | { kind: 'arrivals'; arrivals: [string, number][] };

/** How often the child reports its new arrivals, milliseconds: batching keeps IPC off the parent's CPU. */
export const ARRIVAL_BATCH_MS = 20;

/**
 * A {@link BenchReceiver} in a process of its own, so that the CPU it spends answering deliveries is not counted as
 * the worker's (`process.cpuUsage()` of the bench process). The child batches first successful arrivals (id, epoch
 * ms stamped when the body was complete) every {@link ARRIVAL_BATCH_MS} ms; waiting, arrivals and the progress tick
 * work as on an in-process receiver. Only `failFirst = 0` is needed here (first-try).
 */
export class ReceiverProcess {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new CountWaiters(
    () => this.seen.size,
    (have, n, ms) => `receiver process: ${have}/${n} deliveries within ${ms} ms`,
  );
  private exited?: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly onDelivered?: (id: string) => void,
  ) {}

  /** Forks the receiver process and resolves once it listens. */
  static async start(opts: Pick<BenchReceiverOptions, 'onDelivered'> = {}): Promise<ReceiverProcess> {
    const child = fork(path.join(__dirname, 'receiver-child.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`receiver process exited with code ${code} before listening`)));
      child.once('message', (m: ReceiverChildMessage) => {
        if (m.kind === 'listening') resolve(m.url);
      });
    });
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    const receiver = new ReceiverProcess(child, url, opts.onDelivered);
    receiver.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (m: ReceiverChildMessage) => receiver.receive(m));
    return receiver;
  }

  private receive(m: ReceiverChildMessage): void {
    if (m.kind !== 'arrivals') return;
    for (const [id, at] of m.arrivals) {
      if (this.seen.has(id)) continue;
      this.seen.set(id, at);
      this.onDelivered?.(id);
    }
    this.waiters.notify();
  }

  /** Distinct ids that got a 200 so far (as of the child's last batch). */
  get deliveredCount(): number {
    return this.seen.size;
  }

  /** CPU the receiver process has used so far, milliseconds (undefined where /proc is not readable). */
  cpuMs(): number | undefined {
    return this.child.pid === undefined ? undefined : processCpuMs(this.child.pid);
  }

  waitFor(n: number, timeoutMs: number): Promise<void> {
    return this.waiters.waitFor(n, timeoutMs);
  }

  /** First successful arrival per id, in arrival order; `at` in epoch milliseconds. */
  arrivals(): { id: string; at: number }[] {
    return [...this.seen].map(([id, at]) => ({ id, at }));
  }

  /** Stops the receiver process (it closes its server and exits). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}
