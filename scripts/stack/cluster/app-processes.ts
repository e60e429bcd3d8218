import path from 'node:path';
import { spawnService, waitUntilReady, type Service } from '../process';

const root = path.resolve(__dirname, '..', '..', '..');

/** One of our own processes (`worker/main.ts` or `api/main.ts`) run as a separate OS process. */
export interface AppProcess {
  readonly name: string;
  env: Record<string, string>;
  service: Service;
  /**
   * Starts it again (after a stop, a crash or a kill) and waits until it is ready: with the same environment, or with
   * `changes` applied to it from now on (a new release, e.g. another WORKFLOW_BUNDLE_PATH).
   */
  restart(changes?: Record<string, string>): Promise<void>;
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
 * Starts `node --import tsx <entry>` with `env` added: one process per entry (no tsx wrapper process), so
 * `service.kill` reaches the worker or API itself. NODE_ENV is not passed on: a test runner sets it to `test`, which
 * switches kafkajs to its test retry timing (50 ms first wait, 1 s cap), and these processes must run as in
 * production.
 */
export async function startAppProcess(opts: AppProcessOptions): Promise<AppProcess> {
  const spawn = (env: Record<string, string>) =>
    spawnService(
      opts.name,
      'env',
      [
        '-u',
        'NODE_ENV',
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        process.execPath,
        '--import',
        'tsx',
        opts.entry,
      ],
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
    service: spawn(opts.env),
    async restart(changes) {
      if (changes) app.env = { ...app.env, ...changes };
      app.service = spawn(app.env);
      await ready(app.service);
    },
  };
  await ready(app.service);
  return app;
}
