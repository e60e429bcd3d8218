import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { historyFromStoredJson } from './stored-history';
import { localActivityTypes, splitAfterLocalActivity } from './split-history';

/**
 * Tasks park for days, so a workflow change must replay the histories of the workflows it replaces. The histories in
 * ./histories were recorded from earlier versions by record-histories.ts (run by hand before a workflow change).
 */
const dir = path.resolve(__dirname, 'histories');
const stored = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({
    file,
    workflowId: file.replace(/\.json$/, ''),
    json: readFileSync(path.join(dir, file), 'utf8'),
  }))
  .map((s) => ({ ...s, history: historyFromStoredJson(s.json) }));

describe('recorded histories', () => {
  it('has recordings of waiting, series, dead-lettered, parked, requeued, cancelled, acked, ordered and armed tasks on HTTP and Kafka', () => {
    const names = stored.map((s) => s.file).join(' ');
    const parts = ['timer', 'series', 'dead-letter', 'parked', 'requeued', 'cancelled', 'kafka', 'http', 'ack'];
    // Ordered delivery: the tasks of a key and the key workflow itself.
    parts.push('ordered-continue', 'ordered-block', '-key');
    // …and its recovery paths: a task that joins its key by itself, the key's probe, the key workflow terminated.
    parts.push('ordered-rejoin', 'ordered-probe', 'ordered-key-terminated');
    // The lean behaviour the service starts tasks with: first try, and lead-time release (armed, released on time,
    // by retry-now, held back by a cancel).
    parts.push('lean-http-first-try', 'armed-released-on-time', 'armed-retry-now', 'armed-cancelled');
    for (const part of parts) {
      expect(names, `no recorded history covers "${part}"`).toContain(part);
    }
  });

  it('replays every recorded history against the current workflow code without nondeterminism', async () => {
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      stored.map(({ workflowId, history }) => ({ workflowId, history })),
    );
    const failures: string[] = [];
    let count = 0;
    for await (const r of results) {
      count++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(count).toBe(stored.length);
  });
});

/**
 * Recordings of released code whose dead-letter path decided a patch after a local activity. Split there, they do not
 * replay (TMPRL1100): a run of that code whose activity finished just after a workflow-task heartbeat cannot be
 * replayed. Code since decides first (workflows/park-entry.ts).
 */
const decidedAfterLocalActivity = [
  '15h-ordered-block-cancelled-task1.json @notifyTaskDeadLettered',
  '15h-ordered-continue-requeued-task1-run1.json @handOffTurn',
  '15h-ordered-continue-requeued-task1-run1.json @notifyTaskDeadLettered',
  '17h3-http-dead-lettered-parked-cancelled.json @notifyTaskDeadLettered',
];

describe('recorded histories with a local activity that finished in a later workflow task', () => {
  // Each local activity of each recording, with the commands after its marker moved to a new workflow task.
  const split = stored.flatMap(({ file, json }) =>
    localActivityTypes(json).map((type) => ({
      workflowId: `${file} @${type}`,
      history: historyFromStoredJson(splitAfterLocalActivity(json, type)),
    })),
  );

  it('replay, except the runs of released code that decided a patch after the activity', async () => {
    const outcomes: Record<string, string> = {};
    for await (const r of Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      split,
    )) {
      outcomes[r.workflowId] = r.error ? r.error.message : 'replayed';
    }
    expect(Object.keys(outcomes).length).toBe(split.length);
    expect(split.length).toBeGreaterThan(40);
    const failed = Object.entries(outcomes).filter(([, outcome]) => outcome !== 'replayed');
    expect(failed.map(([id]) => id).sort()).toEqual(decidedAfterLocalActivity);
    for (const [, message] of failed) expect(message).toContain('Non-deprecated patch marker');
  });
});
