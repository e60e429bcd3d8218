import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stackDir } from '../../scripts/stack';
import { ensureSchemathesis } from '../../scripts/stack/schemathesis';
import { startHarness, startReceiver, type Harness } from './harness';

/**
 * Fuzzes the real API from its own OpenAPI document with schemathesis: a fixed seed and a bounded number of examples
 * per operation, so a run is reproducible (about two minutes on a quiet machine). The run fails on a server error, a
 * status code / content type / response body the document does not describe, or a "schema validation mismatch"
 * (requests the document calls valid that the API refuses). Destinations it invents are rewritten to a loopback sink
 * and the run's Kafka broker (schemathesis/fuzz_hooks.py); a worker polls the task queue, so /health is ok and the
 * tasks the fuzzer creates really run.
 */
const SEED = '18';
const EXAMPLES_PER_OPERATION = '10';
/** How long the run may go without a new test case event before it counts as stuck. */
const STALL_MS = 120_000;
const here = path.resolve(__dirname, 'schemathesis');

let h: Harness;
let sink: Awaited<ReturnType<typeof startReceiver>>;
let cli: string;
let workDir: string;
beforeAll(async () => {
  cli = ensureSchemathesis(stackDir);
  mkdirSync(path.join(stackDir, 'runs'), { recursive: true });
  // schemathesis keeps a cache in its working directory: a throw-away one.
  workDir = mkdtempSync(path.join(stackDir, 'runs', 'schemathesis-'));
  sink = await startReceiver();
  // With ACK_SECRET, tasks with ack_timeout are valid as documented (the API refuses them without one).
  h = await startHarness({ env: { SSRF_ALLOW: '127.0.0.1', ACK_SECRET: 'fuzz-ack-secret-0123456789' }, worker: true });
});
afterAll(async () => {
  await h?.stop();
  await sink?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/**
 * Runs schemathesis. Its run is CPU-bound (minutes, more under load), so it is not given a fixed time: it is stopped
 * when its event stream (the NDJSON report, one event per test case) has not grown for STALL_MS.
 */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const events = path.join(workDir, 'events.ndjson');
  return new Promise((resolve, reject) => {
    const child = spawn(cli, [...args, '--report', 'ndjson', '--report-ndjson-path', events], {
      cwd: workDir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    let size = -1;
    let grewAt = Date.now();
    const watch = setInterval(() => {
      const now = existsSync(events) ? statSync(events).size : 0;
      if (now !== size) [size, grewAt] = [now, Date.now()];
      else if (Date.now() - grewAt > STALL_MS) {
        output += `\n[test] no schemathesis event for ${STALL_MS} ms: stopped\n`;
        child.kill('SIGKILL');
      }
    }, 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(watch);
      resolve({ code, output });
    });
  });
}

describe('schemathesis against the real API', () => {
  it('finds no server error, no non-conformance and no validation mismatch over every operation', async () => {
    const { code, output } = await run(
      [
        '--config-file',
        path.join(here, 'schemathesis.toml'),
        'run',
        `${h.api.url}/openapi.json`,
        '--url',
        h.api.url,
        '--checks',
        'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance',
        '--seed',
        SEED,
        '--max-examples',
        EXAMPLES_PER_OPERATION,
        '--phases',
        'examples,coverage,fuzzing',
        // One worker: hypothesis parses lambda sources with `ast` on first use, which CPython 3.11 does not do safely
        // from two threads at once ("AST constructor recursion depth mismatch" on a random operation).
        '--workers',
        '1',
        '--request-timeout',
        '30',
        '--no-shrink',
        // A destination key in a path is an HTTP origin or kafka://brokers/topic (a precise pattern): most strings
        // hypothesis draws for it are filtered out, which its health check reports as an error. The operation is
        // still fuzzed with the keys that match.
        '--suppress-health-check',
        'filter_too_much',
      ],
      {
        PYTHONPATH: here,
        SCHEMATHESIS_HOOKS: 'fuzz_hooks',
        FUZZ_SINK_URL: sink.url,
        FUZZ_KAFKA_BROKER: inject('kafkaBrokers')[0]!,
        NO_COLOR: '1',
      },
    );
    expect(code, output).toBe(0);
    // Every operation of the document was selected and tested (the summary's wording differs between runs).
    const selected = /API Operations:\s+(?:(\d+) selected \/ (\d+) total|Selected: (\d+)\/(\d+))/.exec(output);
    expect(selected, output).not.toBeNull();
    const [, a, b, c, d] = selected!;
    expect(a ?? c).toBe(b ?? d);
    expect(output).not.toMatch(/Schema validation mismatch/);
  }, 3_600_000); // a guard only: a stalled run fails after STALL_MS
});
