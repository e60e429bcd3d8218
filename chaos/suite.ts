import type { Figures } from './figures';
import { Lab } from './lab';
import { ChaosReceiver } from './receiver';
import { scenarios } from './scenarios';

/** Tasks per scenario by size. */
export const sizes = { small: 10, large: 200 } as const;
export type Size = keyof typeof sizes;

/** Runs `names` (all by default) in order on one lab; each scenario's figures are reported through `onFigures`. */
export async function runChaos(
  size: Size,
  names: string[] = Object.keys(scenarios),
  onFigures: (f: Figures) => void = () => undefined,
): Promise<Figures[]> {
  const unknown = names.filter((n) => !scenarios[n]);
  if (unknown.length)
    throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);
  const lab = new Lab();
  const receiver = await new ChaosReceiver().start();
  const rows: Figures[] = [];
  try {
    await lab.start();
    for (const name of names) {
      const figures = await scenarios[name]!.run({ lab, receiver, tasks: sizes[size] });
      rows.push(figures);
      onFigures(figures);
    }
  } finally {
    await receiver.stop();
    await lab.stop();
  }
  return rows;
}
