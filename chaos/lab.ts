import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureKafkaJars, startKafkaBroker } from '../scripts/stack/kafka';
import { processGroup } from '../scripts/stack/ports';
import { freePort, retryOnLostPort, type Service } from '../scripts/stack/process';
import { ensureTemporalCli, startTemporalDevServer } from '../scripts/stack/temporal';
import { stackDir } from '../scripts/stack';

export const root = path.resolve(__dirname, '..');

/** Kills a process group (a stack server under its watchdog, or an npm tree), ignoring one already gone. */
export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Processes whose command line mentions `needle`. */
export function processesMentioning(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(needle) && !line.includes('ps -eo'));
}

/** SIGKILL to `child`'s process group if it still runs, and to every process that mentions `needle`. */
export function killEverything(child: ChildProcess, needle: string): void {
  const kill = (pid: number) => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  if (child.exitCode === null && child.signalCode === null) kill(-child.pid!);
  for (const line of processesMentioning(needle)) kill(Number(line.trim().split(/\s+/)[0]));
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

/** One of our processes (`npm run worker` / `api` / `ingress` as npm execs them: node --import tsx <entry>). */
export interface Child {
  proc: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * The chaos lab: a Temporal dev server and a Kafka broker on fixed free ports with data in one folder, so either
 * can be killed with -9 and restarted on the same data; our processes started like `npm run <entry>` with a
 * given environment.
 */
export class Lab {
  readonly dir = path.join(stackDir, 'runs', `chaos-${process.pid}-${Date.now()}`);
  temporalPort = 0;
  kafkaPort = 0;
  private controllerPort = 0;
  private uiPort = 0;
  temporal?: Service;
  kafka?: Service;
  private readonly children = new Set<ChildProcess>();

  get temporalAddress(): string {
    return `127.0.0.1:${this.temporalPort}`;
  }
  get brokers(): string[] {
    return [`127.0.0.1:${this.kafkaPort}`];
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    // Ports are picked free; one taken before its server bound it is picked again, on fresh data.
    await Promise.all([
      retryOnLostPort(async () => {
        rmSync(path.join(this.dir, 'temporal.sqlite'), { force: true });
        this.temporalPort = await freePort();
        this.uiPort = await freePort();
        await this.startTemporal();
      }),
      retryOnLostPort(async () => {
        rmSync(path.join(this.dir, 'kafka'), { recursive: true, force: true });
        this.kafkaPort = await freePort();
        this.controllerPort = await freePort();
        await this.startKafka();
      }),
    ]);
  }

  async startTemporal(): Promise<void> {
    const server = await startTemporalDevServer({
      cli: ensureTemporalCli(stackDir),
      dbFile: path.join(this.dir, 'temporal.sqlite'),
      port: this.temporalPort,
      uiPort: this.uiPort,
      logFile: path.join(this.dir, 'temporal.log'),
    });
    this.temporal = server.service;
  }

  async startKafka(): Promise<void> {
    const broker = await startKafkaBroker({
      libs: ensureKafkaJars(stackDir),
      dataDir: path.join(this.dir, 'kafka'),
      port: this.kafkaPort,
      controllerPort: this.controllerPort,
      logFile: path.join(this.dir, 'kafka.log'),
    });
    this.kafka = broker.service;
  }

  /** kill -9 of a server (and its watchdog); resolves once it is gone. */
  async kill9(service: Service | undefined): Promise<void> {
    if (!service) return;
    killGroup(service.process.pid!);
    await service.exited;
  }

  /** Starts `node --import tsx <entry>` (what `npm run worker` / `api` / `ingress` exec) with `env` on top. */
  spawn(entry: string, env: Record<string, string>, name: string): Child {
    // Not NODE_ENV: under vitest it is `test`, which switches kafkajs to its test retry timing (1 s cap).
    const { NODE_ENV: _testRunner, ...inherited } = process.env;
    const proc = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: root,
      env: { ...inherited, LOG_LEVEL: 'warn', WORKER_METRICS_PORT: '0', ...env, CHAOS_LAB: this.dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr!.on('data', (d: Buffer) => {
      if (process.env.CHAOS_VERBOSE) process.stderr.write(`[${name}] ${d.toString()}`);
    });
    this.children.add(proc);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    void exited.then(() => this.children.delete(proc));
    return { proc, exited };
  }

  /** Our processes and servers of this lab still running (the leftover figure; must be 0 after a stop). */
  leftovers(): string[] {
    const alive = [...this.children].filter((c) => c.exitCode === null && c.signalCode === null);
    // Server processes of this lab outside the current Temporal's and Kafka's groups: survivors of a kill.
    const current = new Set([this.temporal?.process.pid, this.kafka?.process.pid]);
    const strays = processesMentioning(this.dir).filter(
      (line) => !current.has(processGroup(Number(line.trim().split(/\s+/)[0]))),
    );
    return [...alive.map((c) => `pid ${c.pid} (${c.spawnargs.slice(-1)[0]})`), ...strays];
  }

  async stop(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    await Promise.all([this.kafka?.stop(), this.temporal?.stop()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
