import { isDeepStrictEqual } from 'node:util';
import type { HostConfig, KindConfig, LabConfig } from './lab-config.js';

/**
 * What a reload must do to go from one LabConfig to the next. A kind whose containers would come out
 * differently (image, base, command, env, readiness, pool id, …) is `changed`: its ready containers are of the
 * old spec, so it needs a roll-over. A kind whose only differences are in how many containers it keeps and for
 * how long is `resized`: its containers stay. Kinds are listed in the new file's order (removed ones in the old's).
 */
export interface LabConfigDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
  readonly resized: string[];
  /** The host keys whose values differ. */
  readonly hostChanged: string[];
}

/** The kind keys that change how many containers a pool keeps, not what they are. */
export const sizingKeys: ReadonlySet<string> = new Set(['min', 'max', 'idleTtlMs', 'maxAgeMs', 'pauseIdle']);

export function diffLabConfigs(before: LabConfig, after: LabConfig): LabConfigDiff {
  const added: string[] = [];
  const changed: string[] = [];
  const resized: string[] = [];
  for (const [name, kind] of after.kinds) {
    const old = before.kinds.get(name);
    if (old === undefined) {
      added.push(name);
      continue;
    }
    const keys = differingKeys(old, kind);
    if (keys.some((key) => !sizingKeys.has(key))) changed.push(name);
    else if (keys.length > 0) resized.push(name);
  }
  const removed = [...before.kinds.keys()].filter((name) => !after.kinds.has(name));
  return { added, removed, changed, resized, hostChanged: differingKeys(before.host, after.host) };
}

/** Keys of either object whose values differ; env, labels and argv compare by content (an env's key order does not count). */
function differingKeys(before: HostConfig | KindConfig, after: HostConfig | KindConfig): string[] {
  const old: Readonly<Record<string, unknown>> = { ...before };
  const now: Readonly<Record<string, unknown>> = { ...after };
  const keys = new Set([...Object.keys(old), ...Object.keys(now)]);
  return [...keys].filter((key) => !isDeepStrictEqual(old[key], now[key]));
}
