import path from 'node:path';
import { spawnService, waitUntilReady, type Service } from '../process';

const root = path.resolve(__dirname, '..', '..', '..');

/** One of our own processes (`worker/main.ts` or `api/main.ts`) run as a separate OS process. */
export interface AppProcess {
  readonly name: string;
  readonly env: Record<string, string>;
  service: Service;
  /** Starts it again with the same environment (after a stop, a crash or a kill) and waits until it is ready. */
  restart(): Promise<void>;
}

export interface AppProcessOptions {
  name: string;
  /** Entry file relative to the repository, e.g. `worker/main.ts`. */
  entry: string;
  env: Record<string, string>;
  logFile: string;
  /** Resolves once the process serves (its /metrics or /health answers). */
  readyUrl: string;
}

/**
 * Starts `node --import tsx <entry>` with `env` added: one process per entry (no tsx wrapper process), so a signal
 * or kill -9 reaches the worker or API itself.
 */
export async function startAppProcess(opts: AppProcessOptions): Promise<AppProcess> {
  const spawn = () =>
    spawnService(
      opts.name,
      'env',
      [...Object.entries(opts.env).map(([k, v]) => `${k}=${v}`), process.execPath, '--import', 'tsx', opts.entry],
      opts.logFile,
      root,
    );
  const ready = (service: Service) =>
    waitUntilReady(
      service,
      async () => {
        const res = await fetch(opts.readyUrl);
        if (!res.ok) throw new Error(`${opts.readyUrl} answered ${res.status}`);
      },
      180_000,
      500,
    );
  const app: AppProcess = {
    name: opts.name,
    env: opts.env,
    service: spawn(),
    async restart() {
      app.service = spawn();
      await ready(app.service);
    },
  };
  await ready(app.service);
  return app;
}
