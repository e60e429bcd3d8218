import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Table from 'cli-table3';

/** One measured figure: ours and, when measured in the same run, the engine baseline and the peer (BullMQ). */
export interface ResultRow {
  scenario: string;
  /** Variant within the scenario, e.g. `http`, `kafka`, `k=3`, `batch c=32`. */
  case: string;
  /** What is measured, e.g. `deliveries/s`, `p99 submit→arrival`, `events per retry cycle`. */
  metric: string;
  /** Unit of ours, baseline and peer, e.g. `tasks/s`, `ms`, `events`. */
  unit: string;
  ours: number;
  /** The comparison point on the same engine: raw-engine workflow or naive retry loop. */
  baseline?: number;
  /** The same work done by the peer (BullMQ on Redis). */
  peer?: number;
  /** ours / baseline. */
  ratio_baseline?: number;
  /** ours / peer. */
  ratio_peer?: number;
  /** Human-readable target, e.g. `ours ≥ 0.9 × baseline`. */
  target?: string;
  target_met?: boolean;
}

/** Where and on what a result was measured. */
export interface MachineInfo {
  os: string;
  cpus: number;
  cpu_model: string;
  /** Total memory, GiB. */
  mem_gb: number;
  node: string;
  /**
   * Load average (1 / 5 / 15 min) when the bench process started (before it started its own servers: what else ran
   * on the machine) and when the result was saved.
   */
  load_average?: { at_start: number[]; at_end: number[] };
}

/** The file {@link saveResults} writes: `bench/results/<scenario>-<YYYY-MM-DD>.json`. */
export interface ResultFile {
  scenario: string;
  /** ISO 8601 time of the run's end. */
  date: string;
  machine: MachineInfo;
  commit: { sha: string; dirty: boolean };
  rows: ResultRow[];
  extra?: object;
}

const repoRoot = path.resolve(__dirname, '..', '..');
/** Load average when this module was loaded, i.e. when the bench process started. */
const loadAtStart = roundedLoad();
/** Start and end markers of the generated table in BENCHMARKS.md. */
export const TABLE_START = '<!-- bench:table:start -->';
export const TABLE_END = '<!-- bench:table:end -->';

/** Where result files go: BENCH_RESULTS_DIR, else bench/results. */
export function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR
    ? path.resolve(process.env.BENCH_RESULTS_DIR)
    : path.join(repoRoot, 'bench', 'results');
}

/**
 * The markdown file whose table is regenerated: BENCH_MARKDOWN, else BENCHMARKS.md when results go to bench/results,
 * else `BENCHMARKS.md` inside the overridden results folder (so a test never touches the real one).
 */
export function markdownPath(dir = resultsDir()): string {
  if (process.env.BENCH_MARKDOWN) return path.resolve(process.env.BENCH_MARKDOWN);
  return dir === path.join(repoRoot, 'bench', 'results')
    ? path.join(repoRoot, 'BENCHMARKS.md')
    : path.join(dir, 'BENCHMARKS.md');
}

/** Fills `ratio_baseline` / `ratio_peer` from the figures present. */
export function withRatios(row: ResultRow): ResultRow {
  const out = { ...row };
  if (row.baseline !== undefined && row.baseline !== 0 && Number.isFinite(row.baseline)) {
    out.ratio_baseline = row.ours / row.baseline;
  }
  if (row.peer !== undefined && row.peer !== 0 && Number.isFinite(row.peer)) out.ratio_peer = row.ours / row.peer;
  return out;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    mem_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
}

export function gitCommit(): { sha: string; dirty: boolean } {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    return { sha, dirty: status.trim() !== '' };
  } catch {
    return { sha: 'unknown', dirty: true };
  }
}

/**
 * Writes `<resultsDir>/<scenario>-<YYYY-MM-DD>.json` (machine, commit, date, rows with ratios, `extra`), prints the
 * rows as a table with PASS/MISS for targets, and regenerates the markdown table from the newest file per scenario.
 * A quick run (`extra.quick` or BENCH_QUICK=1) goes to `<tmp>/bench-quick/` instead, unless BENCH_RESULTS_DIR is set.
 * @returns the path of the JSON file written
 */
export function saveResults(scenario: string, rows: ResultRow[], extra?: object): string {
  const quick = isQuick(extra);
  // A --quick run only tries the harness: its figures never replace a real run's file or table rows.
  const dir = quick && !process.env.BENCH_RESULTS_DIR ? path.join(os.tmpdir(), 'bench-quick') : resultsDir();
  mkdirSync(dir, { recursive: true });
  const date = new Date();
  const load = { at_start: loadAtStart, at_end: roundedLoad() };
  const file: ResultFile = {
    scenario,
    date: date.toISOString(),
    machine: { ...machineInfo(), load_average: load },
    commit: gitCommit(),
    rows: rows.map(withRatios),
    ...(extra ? { extra } : {}),
  };
  const out = path.join(dir, `${scenario}-${date.toISOString().slice(0, 10)}.json`);
  writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
  printRows(file.rows);
  const md = markdownPath(dir);
  regenerateTable(dir, md);
  // Both files are committed and `npm run lint` runs prettier --check over them.
  formatWithPrettier([out, md]);
  console.log(`load average at start ${load.at_start.join(' / ')}, at end ${load.at_end.join(' / ')}`);
  console.log(`results: ${path.relative(process.cwd(), out)}; table: ${path.relative(process.cwd(), md)}`);
  return out;
}

/** os.loadavg() to two decimals. */
function roundedLoad(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

/** Whether a run was `--quick`: `extra.quick`, or BENCH_QUICK=1 (bench/run.ts sets it for --quick). */
function isQuick(extra?: object): boolean {
  return (extra as { quick?: unknown } | undefined)?.quick === true || process.env.BENCH_QUICK === '1';
}

/** Runs the project's prettier over `files` (best effort: a missing prettier leaves them as written). */
export function formatWithPrettier(files: string[]): void {
  try {
    const bin = require.resolve('prettier/bin/prettier.cjs', { paths: [repoRoot] });
    execFileSync(process.execPath, [bin, '--write', '--log-level', 'warn', ...files], { cwd: repoRoot, stdio: 'pipe' });
  } catch (err) {
    console.error(`bench: prettier could not format ${files.join(', ')}: ${(err as Error).message}`);
  }
}

/** The newest result file per scenario in `dir` (by its `date` field). */
export function latestResults(dir = resultsDir()): ResultFile[] {
  const newest = new Map<string, ResultFile>();
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  for (const name of names) {
    let parsed: ResultFile;
    try {
      parsed = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as ResultFile;
    } catch {
      continue;
    }
    if (!parsed.scenario || !Array.isArray(parsed.rows)) continue;
    const seen = newest.get(parsed.scenario);
    if (!seen || seen.date < parsed.date) newest.set(parsed.scenario, parsed);
  }
  return [...newest.values()].sort((a, b) => a.scenario.localeCompare(b.scenario));
}

/** A number for people: thousands separators, 2 significant decimals below 10, 1 below 100. */
export function fmt(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtRatio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '' : `${value.toFixed(2)}×`;
}

function verdict(row: ResultRow): string {
  if (row.target === undefined) return '';
  return `${row.target_met ? 'PASS' : 'MISS'} (${row.target})`;
}

/** Prints rows as a terminal table (cli-table3) with PASS/MISS for targets. */
export function printRows(rows: readonly ResultRow[]): void {
  const table = new Table({
    head: ['case', 'metric', 'unit', 'ours', 'baseline', 'peer', 'ours/baseline', 'ours/peer', 'target'],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    table.push([
      r.case,
      r.metric,
      r.unit,
      fmt(r.ours),
      fmt(r.baseline),
      fmt(r.peer),
      fmtRatio(r.ratio_baseline),
      fmtRatio(r.ratio_peer),
      verdict(r),
    ]);
  }
  console.log(table.toString());
}

function machineLabel(m: MachineInfo): string {
  return `${m.cpus} cpu, ${m.mem_gb} GB, node ${m.node.replace(/^v/, '')}`;
}

/** The markdown table (prettier-aligned) of the newest result per scenario. */
export function renderTable(files: readonly ResultFile[]): string {
  const head = ['scenario', 'case', 'metric', 'ours', 'baseline', 'peer', 'ratio', 'target', 'machine', 'commit'];
  const body = files.flatMap((f) =>
    f.rows.map((r) => {
      const ratios = [
        r.ratio_baseline !== undefined ? `${fmtRatio(r.ratio_baseline)} baseline` : '',
        r.ratio_peer !== undefined ? `${fmtRatio(r.ratio_peer)} peer` : '',
      ].filter(Boolean);
      return [
        f.scenario,
        r.case,
        `${r.metric} (${r.unit})`,
        fmt(r.ours),
        fmt(r.baseline),
        fmt(r.peer),
        ratios.join(', '),
        r.target === undefined ? '' : `${r.target_met ? '**PASS**' : '**MISS**'} ${r.target}`,
        machineLabel(f.machine),
        `${f.commit.sha}${f.commit.dirty ? '+' : ''} ${f.date.slice(0, 10)}`,
      ];
    }),
  );
  if (body.length === 0) return '_No results yet: run `npm run bench -- <scenario>`._';
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const rows = [head, ...body].map((r) => r.map(escape));
  const widths = head.map((_, i) => Math.max(3, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.slice(1).map(line)].join('\n');
}

/**
 * Replaces what lies between {@link TABLE_START} and {@link TABLE_END} in `markdown` (creating the file, or adding
 * the markers after the first heading, when missing) with the table of the newest result per scenario in `dir`.
 */
export function regenerateTable(dir = resultsDir(), markdown = markdownPath(dir)): void {
  const table = renderTable(latestResults(dir));
  const block = [
    TABLE_START,
    '',
    '<!-- Generated by `npm run bench` from the newest bench/results/<scenario>-<date>.json per scenario; do not edit. -->',
    '',
    table,
    '',
    TABLE_END,
  ].join('\n');
  let text: string;
  try {
    text = readFileSync(markdown, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END);
  if (start >= 0 && end > start) {
    text = text.slice(0, start) + block + text.slice(end + TABLE_END.length);
  } else {
    const firstHeading = text.indexOf('\n', text.indexOf('# '));
    text =
      firstHeading >= 0
        ? `${text.slice(0, firstHeading + 1)}\n${block}\n${text.slice(firstHeading + 1)}`
        : `${text}\n${block}\n`;
  }
  writeFileSync(markdown, text);
}
