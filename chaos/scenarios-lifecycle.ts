import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, portInUse } from '../scripts/stack/process';
import { figuresOf } from './figures';
import { killEverything, processesMentioning, root, until, type Lab } from './lab';
import { httpTask, Services } from './services';
import { idsFor, settle, type Scenario } from './common';

/** `npm <args>` in its own process group with a private data folder and free ports; Kafka is the lab's. */
async function npm(lab: Lab, args: string[], over: Record<string, string> = {}) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'retry-chaos-'));
  const ports = await Promise.all(Array.from({ length: 4 }, () => freePort()));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STACK_DATA_DIR: dataDir,
    STACK_TEMPORAL_PORT: String(ports[0]),
    STACK_TEMPORAL_UI_PORT: String(ports[1]),
    API_PORT: String(ports[2]),
    WORKER_METRICS_PORT: String(ports[3]),
    KAFKA_BROKERS: lab.brokers.join(','),
    LOG_LEVEL: 'warn',
    ...over,
  };
  delete env.TEMPORAL_ADDRESS;
  const child = spawn('npm', args, { cwd: root, env, detached: true });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // 'exit' may come before the last output is read (a loaded machine showed it): 'close' follows the streams' end.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const cleanUp = () => {
    killEverything(child, dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { child, exited, closed, output: () => output, dataDir, ports, cleanUp };
}

const noTasks = { due: new Map<string, number>(), arrivals: new Map<string, number[]>(), duplicateBound: 0 };

export const lifecycleScenarios: Record<string, { describe: string; run: Scenario }> = {
  'api-mid-batch': {
    describe: 'kill -9 of the API while a POST /tasks/batch is in flight; the client resends what got no answer',
    async run({ lab, receiver, tasks }) {
      const services = new Services(lab);
      await services.start();
      const ids = idsFor('api', tasks);
      const over = { base_delay: 30 };
      const batches: string[][] = [];
      const perBatch = Math.max(2, Math.ceil(ids.length / 5));
      for (let i = 0; i < ids.length; i += perBatch) batches.push(ids.slice(i, i + perBatch));
      const submitted = new Map<string, number>();
      const post = (batch: string[]) => {
        for (const id of batch) if (!submitted.has(id)) submitted.set(id, Date.now());
        return fetch(`${services.apiUrl}/tasks/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ tasks: batch.map((id) => httpTask(id, `${receiver.url}/api`, over)) }),
        }).then(
          (r) => r.status,
          () => 0,
        );
      };
      // The batch in the middle is cut: the API dies 20 ms after the request went out.
      const cut = Math.floor(batches.length / 2);
      const answered = new Map<number, number>();
      let apiDownMs = 0;
      for (const [i, batch] of batches.entries()) {
        if (i !== cut) {
          answered.set(i, await post(batch));
          continue;
        }
        const pending = post(batch);
        await new Promise((r) => setTimeout(r, 20));
        await services.kill9(services.api);
        answered.set(i, await pending);
        const down = Date.now();
        services.startApi();
        await until(async () => (await services.health()) === 200, 60_000);
        apiDownMs = Date.now() - down;
      }
      // A client resends every batch that got no (or no full) answer; ids already started answer 409 per item.
      let resent = 0;
      // A task of the cut batch that the dead API had started and that finished before the resend is a new task to
      // the API (a closed id starts a new run; README, "Task ids and idempotency"): at most one extra delivery each.
      let closedBeforeResend = 0;
      for (const [i, status] of answered) {
        if (status === 201 || status === 200) continue;
        resent++;
        const firstDue = Math.min(...batches[i]!.map((id) => submitted.get(id)!)) + over.base_delay * 1000;
        if (Date.now() >= firstDue) closedBeforeResend += batches[i]!.length;
        await post(batches[i]!);
      }
      await settle(receiver, '/api', ids, services.apiUrl);
      return figuresOf({
        scenario: 'api-mid-batch',
        due: new Map([...submitted].map(([id, at]) => [id, at + over.base_delay * 1000])),
        arrivals: receiver.deliveries('/api'),
        kills: 1,
        duplicateBound: closedBeforeResend,
        leftovers: (await services.stop(), lab.leftovers().length),
        notes: `API back after ${(apiDownMs / 1000).toFixed(1)} s; ${resent} of ${batches.length} batches resent (their ids already started answer 409); lateness counts from the first send`,
      });
    },
  },
  'sigterm-npm-start': {
    describe: "SIGTERM to npm start's pid (what docker stop, systemd or timeout send): everything stops, exit 0",
    async run({ lab }) {
      const run = await npm(lab, ['start']);
      try {
        const ready = await until(
          () => run.output().includes('Retry service ready') || run.child.exitCode !== null,
          180_000,
        );
        if (!ready) throw new Error(`npm start not ready:\n${run.output()}`);
        const t0 = Date.now();
        process.kill(run.child.pid!, 'SIGTERM');
        const code = await run.exited;
        const stopS = (Date.now() - t0) / 1000;
        const held = (await Promise.all(run.ports.slice(0, 3).map((p) => portInUse(p)))).filter(Boolean).length;
        const left = processesMentioning(run.dataDir).length + held;
        return figuresOf({
          scenario: 'sigterm-npm-start',
          ...noTasks,
          kills: 0,
          leftovers: left,
          notes: `stopped in ${stopS.toFixed(1)} s, npm exit code ${code}, ${held} ports still held`,
        });
      } finally {
        run.cleanUp();
      }
    },
  },
  'port-clash': {
    describe: 'npm start while a stranger holds its Temporal port: fails fast naming port, holder and variable',
    async run({ lab }) {
      const stranger = net.createServer();
      await new Promise<void>((resolve) => stranger.listen(0, '127.0.0.1', resolve));
      const port = (stranger.address() as net.AddressInfo).port;
      const run = await npm(lab, ['start'], { STACK_TEMPORAL_PORT: String(port) });
      try {
        const t0 = Date.now();
        const code = await run.exited;
        const failS = (Date.now() - t0) / 1000;
        // Its message, read to the end; a process left holding npm's output counts as a leftover below instead.
        await Promise.race([run.closed, new Promise((r) => setTimeout(r, 10_000))]);
        const out = run.output();
        const named =
          out.includes(`port ${port}`) && out.includes(`pid ${process.pid}`) && out.includes('STACK_TEMPORAL_PORT');
        const falseReady = out.includes('Retry service ready') || out.includes('dev server ready');
        return figuresOf({
          scenario: 'port-clash',
          ...noTasks,
          kills: 0,
          leftovers: processesMentioning(run.dataDir).length,
          notes: `exit code ${code} after ${failS.toFixed(1)} s; message names port, holder and variable: ${named ? 'yes' : 'NO'}; false "ready": ${falseReady ? 'YES' : 'no'}${named ? '' : `; said: ${JSON.stringify(out.slice(-400))}`}`,
        });
      } finally {
        stranger.close();
        run.cleanUp();
      }
    },
  },
};
