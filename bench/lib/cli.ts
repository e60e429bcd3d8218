/** A benchmark scenario of `npm run bench -- <name>`. */
export interface Scenario {
  /** One line for the list `npm run bench` prints. */
  describe: string;
  /**
   * Runs the scenario: starts what it needs, measures, saves results (bench/results, BENCHMARKS.md table).
   * @param opts.quick tiny sizes, seconds instead of minutes, for trying the harness
   * @param opts.args the remaining command-line arguments (scenario options such as `--n 500`)
   */
  run(opts: { quick: boolean; args: string[] }): Promise<void>;
}

/** Whether `name` (e.g. `--no-peer`) is among `args`. */
export function flag(args: readonly string[], name: string): boolean {
  return args.includes(name);
}

/** The number after `name` in `args` (`--n 500` or `--n=500`), else `fallback`. */
export function numberArg(args: readonly string[], name: string, fallback: number): number {
  const text = stringArg(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got ${text}`);
  return value;
}

/** The text after `name` in `args` (`--ks 1,3` or `--ks=1,3`). */
export function stringArg(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** Config overrides from `--set KEY=VALUE` (repeatable), for tuning experiments. */
export function configArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  args.forEach((a, i) => {
    const pair = a === '--set' ? args[i + 1] : a.startsWith('--set=') ? a.slice(6) : undefined;
    if (!pair) return;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--set wants KEY=VALUE, got ${pair}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  });
  return out;
}
