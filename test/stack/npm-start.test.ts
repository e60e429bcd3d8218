import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killEverything } from '../../chaos/lab';
import { freePort, portInUse } from '../../scripts/stack/process';

const root = path.resolve(__dirname, '../..');

/** Processes whose command line mentions `needle` (the test's private data folder). */
function processesMentioning(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(needle) && !line.includes('ps -eo'));
}

describe('npm start', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'retry-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves GET /health 200 and the Temporal Web UI, and a SIGTERM to npm`s pid leaves no process behind', async () => {
    const [apiPort, metricsPort, sdkMetricsPort, temporalPort, uiPort, kafkaPort, controllerPort] = await Promise.all(
      Array.from({ length: 7 }, () => freePort()),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      API_PORT: String(apiPort),
      WORKER_METRICS_PORT: String(metricsPort),
      WORKER_SDK_METRICS_PORT: String(sdkMetricsPort),
      STACK_DATA_DIR: dataDir,
      STACK_TEMPORAL_PORT: String(temporalPort),
      STACK_TEMPORAL_UI_PORT: String(uiPort),
      STACK_KAFKA_PORT: String(kafkaPort),
      STACK_KAFKA_CONTROLLER_PORT: String(controllerPort),
      LOG_LEVEL: 'warn',
    };
    // npm start provisions its own stack: addresses from the outside would make it skip that.
    delete env.TEMPORAL_ADDRESS;
    delete env.KAFKA_BROKERS;
    // `npm start` itself, in its own process group like a terminal's foreground job.
    const child = spawn('npm', ['start'], { cwd: root, env, detached: true });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 120_000;
      while (!output.includes('Retry service ready') && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(output, output).toContain('Retry service ready');
      expect(output).toContain(`http://127.0.0.1:${apiPort}`);
      expect(output).toContain(`Temporal UI    http://127.0.0.1:${uiPort}`);

      const health = await fetch(`http://127.0.0.1:${apiPort}/health`);
      const body = (await health.json()) as { status: string; checks: Record<string, { ok: boolean }> };
      expect(health.status).toBe(200);
      expect(body.checks.temporal?.ok).toBe(true);
      expect(body.checks.workers?.ok).toBe(true);
      expect(body.checks.kafka?.ok).toBe(true);
      // The worker's /metrics: application series plus the Temporal SDK's own, from one port.
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^retry_service_process_/m);
      expect(metrics).toMatch(/^temporal_/m);
      const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toMatch(/<html/i);
      expect(processesMentioning(dataDir).length).toBeGreaterThanOrEqual(2); // Temporal and Kafka are running

      // What docker stop, systemd or `timeout` do: SIGTERM to npm's pid alone (npm relays it to its one child).
      const stopStarted = Date.now();
      process.kill(child.pid!, 'SIGTERM');
      // The service stops in order (API, ingress, worker, Kafka, Temporal), then exits 0, then npm does.
      expect(await exited).toBe(0);
      expect(Date.now() - stopStarted).toBeLessThan(30_000);
      expect(processesMentioning(dataDir)).toEqual([]);
      const ports = [apiPort, metricsPort, temporalPort, uiPort, kafkaPort, controllerPort] as number[];
      const held = await Promise.all(ports.map((port) => portInUse(port)));
      expect(ports.filter((_, i) => held[i])).toEqual([]);
      // The launcher never crashes on its servers' output and stops cleanly (kafkajs may log broker errors at start-up).
      expect(output).not.toMatch(/Unhandled|ERR_STREAM_WRITE_AFTER_END|stop failed|took longer than/);
    } finally {
      // Whatever happened above, leave nothing running.
      killEverything(child, dataDir);
    }
  });
});
