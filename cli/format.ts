import Table from 'cli-table3';
import type { BulkRequeueResult, Job, JobPage, TaskPage, TaskStatus, TaskSummary } from './api-client';

/**
 * Human output of `retryctl`: plain tables (no colours, so output is the same in a pipe, a log and a test) and
 * times as UTC ISO strings with a relative hint.
 */

const plain = { head: [], border: [] };

/** `2026-01-02T03:04:05Z (in 5m)`; `-` when absent. */
export function when(iso: string | undefined, now: number = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const stamp = new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `${stamp} (${relative(t - now)})`;
}

function relative(deltaMs: number): string {
  const abs = Math.abs(deltaMs);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1_000, 's'],
  ];
  const [size, unit] = units.find(([size]) => abs >= size) ?? [1_000, 's'];
  const n = Math.floor(abs / size);
  if (n === 0) return 'now';
  return deltaMs >= 0 ? `in ${n}${unit}` : `${n}${unit} ago`;
}

/** The list of tasks (GET /tasks, GET /dead-letters), one row each. */
export function taskTable(items: TaskSummary[], now?: number): string {
  if (items.length === 0) return 'no tasks match';
  const table = new Table({
    head: ['TASK ID', 'STATE', 'TYPE', 'CLIENT', 'SOURCE', 'ATTEMPT', 'NEXT ATTEMPT', 'STARTED'],
    style: plain,
  });
  for (const t of items) {
    table.push([
      t.task_id + (t.is_priority ? ' !' : ''),
      t.state ?? (t.workflow_status ?? '-').toLowerCase(),
      t.destination_type ?? '-',
      t.client_id ?? '-',
      t.source ?? '-',
      t.attempt ?? '-',
      when(t.next_attempt_at, now),
      when(t.start_time, now),
    ]);
  }
  return table.toString();
}

/** The footer of a list: how many rows, and how to get the next page. */
export function pageFooter(page: TaskPage, command: string): string {
  const count = `${page.items.length} task(s)`;
  return page.next_page_token ? `${count}; more: ${command} --page-token ${page.next_page_token}` : count;
}

/** One task (GET /tasks/:id): its status as key/value rows, then its attempt log. */
export function taskDetails(t: TaskStatus, now?: number): string {
  const rows: [string, string][] = [
    ['task id', t.task_id],
    ['state', t.state],
    ['details', t.details ?? '-'],
    ['destination type', t.destination_type ?? '-'],
    ['attempt', t.max_attempts !== undefined ? `${t.attempt ?? 0}/${t.max_attempts}` : String(t.attempt ?? '-')],
    ['submitted', when(t.submitted_at, now)],
    ['next attempt', when(t.next_attempt_at, now)],
    ['last error', t.last_error ?? '-'],
  ];
  if (t.ordering_key !== undefined) rows.push(['ordering key', t.ordering_key]);
  if (t.position !== undefined) {
    rows.push(['place in key', `${t.position}${t.blocked_by ? ` (blocked by ${t.blocked_by})` : ''}`]);
  }
  if (t.last_status_code !== undefined) rows.push(['last status code', String(t.last_status_code)]);
  if (t.circuit_open_until) rows.push(['circuit open until', when(t.circuit_open_until, now)]);
  if (t.dead_letter) {
    const d = t.dead_letter;
    rows.push([
      'dead letter',
      `${d.reason}; ${d.delivered ? `delivered ${when(d.delivered_at, now)}` : 'not delivered'}` +
        (d.parked_until ? `; parked until ${when(d.parked_until, now)}` : ''),
    ]);
  }
  if (t.requeues) rows.push(['requeues', String(t.requeues)]);
  if (t.workflow) rows.push(['workflow', `${t.workflow.status} run ${t.workflow.run_id}`]);
  const table = new Table({ style: plain });
  for (const [k, v] of rows) table.push({ [k]: v });

  const attempts = t.attempts ?? [];
  if (attempts.length === 0) return `${table.toString()}\nno attempts yet`;
  const log = new Table({ head: ['#', 'TARGET', 'STARTED', 'MS', 'OUTCOME', 'CODE', 'ERROR'], style: plain });
  for (const a of attempts) {
    log.push([
      a.number,
      a.target,
      when(a.started_at, now),
      a.duration_ms,
      a.outcome,
      a.status_code ?? '-',
      a.error ?? a.error_class ?? '-',
    ]);
  }
  return `${table.toString()}\n${log.toString()}`;
}

/** The answer of a bulk requeue: the count and the tasks the API skipped, with why. */
export function bulkRequeueSummary(r: BulkRequeueResult): string {
  const head = `dry run: ${r.count} task(s) would be touched${r.sample.length ? ` (e.g. ${r.sample.slice(0, 5).join(', ')})` : ''}`;
  const skipped = r.skipped ?? [];
  if (skipped.length === 0) return head;
  const table = new Table({ head: ['SKIPPED TASK', 'STATE', 'REASON'], style: plain });
  for (const s of skipped) table.push([s.id, s.state ?? '-', s.reason]);
  return `${head}; ${skipped.length} skipped\n${table.toString()}`;
}

/** A job's state, counts and skip reasons. */
export function jobSummary(j: Job): string {
  const lines = [
    `job ${j.job_id} (${j.kind}): ${j.state}`,
    `  total ${j.total} · done ${j.done} · skipped ${j.skipped} · failed ${j.failed} · ${j.rate}/s`,
    `  started ${when(j.started_at)}${j.finished_at ? ` · finished ${when(j.finished_at)}` : ''}`,
  ];
  for (const [reason, n] of Object.entries(j.skipped_reasons)) lines.push(`  skipped ${n}: ${reason}`);
  for (const f of j.failed_sample) lines.push(`  failed ${f.id}: ${f.error}`);
  if (j.error) lines.push(`  error: ${j.error}`);
  return lines.join('\n');
}

/** GET /jobs as a table. */
export function jobTable(page: JobPage): string {
  if (page.items.length === 0) return 'no jobs';
  const table = new Table({ head: ['JOB', 'KIND', 'STATE', 'DONE', 'SKIPPED', 'FAILED', 'STARTED'], style: plain });
  for (const j of page.items) {
    table.push([
      j.job_id,
      j.kind ?? '-',
      j.state,
      j.done ?? '-',
      j.skipped ?? '-',
      j.failed ?? '-',
      when(j.started_at),
    ]);
  }
  return `${table.toString()}${page.next_page_token ? `\nmore: --page-token ${page.next_page_token}` : ''}`;
}
