import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { historyFromStoredJson } from './stored-history';

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
    history: historyFromStoredJson(readFileSync(path.join(dir, file), 'utf8')),
  }));

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
