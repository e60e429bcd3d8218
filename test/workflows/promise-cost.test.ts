import { readFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { historyFromStoredJson } from './stored-history';

/**
 * The SDK's promise hook captures and source-maps a stack for every promise a workflow creates (its stack-trace
 * query), and that is most of a first-try task's CPU on the workflow thread after the activations themselves
 * (BENCHMARKS.md). A minimal workflow (start → one activity → complete) creates 11; ours created 44 before the
 * first-try path lost its needless wrappers. This counts them by replaying the recorded first-try history: replay
 * runs the workflow in this thread (debug mode), where a promise hook sees the sandbox's promises.
 */
const FIRST_TRY_PROMISE_BUDGET = 37;

const history = historyFromStoredJson(
  readFileSync(path.resolve(__dirname, 'histories', '14-lean-http-first-try.json'), 'utf8'),
);

/** Promises created inside workflow sandboxes (their constructor is the sandbox's Promise) while `run` runs. */
async function sandboxPromisesDuring(run: () => Promise<void>): Promise<number> {
  let count = 0;
  const stop = v8.promiseHooks.onInit((promise) => {
    if ((promise as Promise<unknown>).constructor !== Promise) count++;
  });
  try {
    await run();
  } finally {
    stop();
  }
  return count;
}

describe('promises per first-try task', () => {
  it(`a first-try task creates at most ${FIRST_TRY_PROMISE_BUDGET} workflow promises`, async () => {
    const replay = (ids: string[]) => async () => {
      const histories = ids.map((workflowId) => ({ workflowId, history }));
      for await (const r of Worker.runReplayHistories(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        histories,
      )) {
        if (r.error) throw r.error;
      }
    };
    // One replay first: loading the bundle into the sandbox creates promises that no task repeats.
    const n = 5;
    const once = await sandboxPromisesDuring(replay(['warm-up']));
    const many = await sandboxPromisesDuring(replay(Array.from({ length: n + 1 }, (_, i) => `task-${i}`)));
    const perTask = (many - once) / n;
    expect(perTask).toBeGreaterThan(0);
    expect(perTask).toBeLessThanOrEqual(FIRST_TRY_PROMISE_BUDGET);
  });
});
