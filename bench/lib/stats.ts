/** Summary of a sample: count, percentiles, max and mean, in the sample's own unit. */
export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The `p`-th percentile (0–100) of `values`, nearest-rank on a sorted copy. NaN for an empty sample.
 * @param p percentile, 0–100 (50 = median)
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((Math.min(Math.max(p, 0), 100) / 100) * sorted.length);
  return sorted[Math.max(rank - 1, 0)]!;
}

/** n, p50, p95, p99, max and mean of `values` (NaN fields for an empty sample, n = 0). */
export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  if (n === 0) return { n, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(Math.ceil((p / 100) * n) - 1, 0)]!;
  return { n, p50: at(50), p95: at(95), p99: at(99), max: sorted[n - 1]!, mean: sorted.reduce((s, v) => s + v, 0) / n };
}

/** Median of `values` (the mean of the two middle values for an even count). NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
