import type { Summary } from './stats.js';

/** Every unit a figure may carry; the JSON and the table print them as they are. */
export type Unit = 'ms' | 's' | 'containers/s' | 'ops/s' | 'ns/op' | 'x' | 'cpu ms' | '% of one core' | 'count' | '%' | 'container-s' | 'core-s' | 'per job';

/** One measured number. `value` is null when it could not be computed (a ratio to a part that was skipped). */
export interface Figure {
  /** Stable, for scripts reading the JSON: `<part>.<name>`, e.g. `checkout.inProcess.p50`. */
  readonly key: string;
  readonly label: string;
  readonly value: number | null;
  readonly unit: Unit;
}

export const partIds = [
  'ceiling',
  'refill',
  'checkout',
  'service',
  'on-demand',
  'jobs',
  'job-start',
  'throughput',
  'idle',
  'scale',
  'real-suite',
  'demand',
  'pause',
  'lab',
] as const;
export type PartId = (typeof partIds)[number];

export function isPartId(value: string): value is PartId {
  return (partIds as readonly string[]).includes(value);
}

export interface PartResult {
  readonly id: PartId;
  readonly title: string;
  readonly figures: readonly Figure[];
  /** How it was measured, in a sentence or two each: what a reader needs to trust or compare the figures. */
  readonly notes: readonly string[];
  /** Set when the part did not run: skipped by a flag, or failed (the message says which). */
  readonly skipped?: string;
}

export function figure(key: string, label: string, value: number | null, unit: Unit): Figure {
  return { key, label, value: value === null || Number.isFinite(value) ? value : null, unit };
}

/** p50, p99, p99.9 and max of a latency summary as four figures (keys `.p50`, `.p99`, `.p999`, `.max`). */
export function latencyFigures(key: string, label: string, summary: Summary, unit: Unit = 'ms'): Figure[] {
  return [
    figure(`${key}.p50`, `${label} p50`, summary.p50, unit),
    figure(`${key}.p99`, `${label} p99`, summary.p99, unit),
    figure(`${key}.p999`, `${label} p99.9`, summary.p999, unit),
    figure(`${key}.max`, `${label} max`, summary.max, unit),
  ];
}

/** Looks a figure's value up by key across parts, for ratios between parts. */
export function findValue(parts: readonly PartResult[], key: string): number | undefined {
  for (const part of parts) {
    const found = part.figures.find((candidate) => candidate.key === key);
    if (found) return found.value ?? undefined;
  }
  return undefined;
}
