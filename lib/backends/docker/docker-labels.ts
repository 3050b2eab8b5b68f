import { hostname } from 'node:os';
import { randomSuffix } from '../owner.js';

/**
 * The labels every warmpool container carries. They are how the reaper finds a pool's containers after the
 * process that made them died, and how it tells them apart from everything else on the engine.
 */
export const poolLabel = 'warmpool.pool';
export const createdLabel = 'warmpool.created';
export const pidLabel = 'warmpool.pid';
export const hostLabel = 'warmpool.host';

/** Extra labels may not use this prefix: it would let a caller forge or override ownership. */
export const reservedLabelPrefix = 'warmpool.';

export interface OwnerLabelValues {
  readonly poolId: string;
  readonly pid?: number;
  readonly host?: string;
  readonly created?: Date;
}

export function ownerLabels(values: OwnerLabelValues): Record<string, string> {
  const { poolId, pid = process.pid, host = hostname(), created = new Date() } = values;
  return {
    [poolLabel]: poolId,
    [createdLabel]: created.toISOString(),
    [pidLabel]: String(pid),
    [hostLabel]: host,
  };
}

/** `warmpool-<poolId>-<pid>-<8 hex>`: the pid makes names readable in `docker ps`; the suffix makes them unique. */
export function dockerContainerName(poolId: string, pid = process.pid, suffix = randomSuffix()): string {
  return `warmpool-${poolId}-${pid}-${suffix}`;
}

/** The filter that lists one pool's containers, for `listContainers`. */
export function poolLabelFilter(poolId: string): { label: string[] } {
  return { label: [`${poolLabel}=${poolId}`] };
}
