import { figure, type Figure } from './figures.js';
import { measurePoolScale } from './pool-scale.js';

/** Part 7: pool bookkeeping alone (instant fake factory) at each size, to show a get costs the same at any size. */
export async function measureScaleFigures(sizes: readonly number[], gets: number, signal: AbortSignal): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const size of sizes) {
    signal.throwIfAborted();
    const result = await measurePoolScale(size, gets);
    const key = `scale.${size}`;
    const label = `pool of ${size.toLocaleString('en-US')}:`;
    figures.push(
      figure(`${key}.fillMs`, `${label} fill`, result.fillMs, 'ms'),
      figure(`${key}.getOpsPerSecond`, `${label} get() + refill`, result.getOpsPerSecond, 'ops/s'),
      figure(`${key}.nsPerGet`, `${label} per get() + refill`, result.nsPerGet, 'ns/op'),
    );
  }
  return figures;
}
