import type { CommandRun } from './lab-instant-factory.js';

/**
 * What the lab part reads off its jobs' commands: how long a drain took, what the ideal would be, and how long
 * a worker's slot stood idle between two jobs while jobs were waiting (the dispatch overhead under load).
 * Times are performance.now() milliseconds of this process.
 */

/** Jobs per second `slots` jobs at once would drain, each running `jobMs` with no time between them. */
export function idealJobsPerSecond(slots: number, jobMs: number): number {
  if (!(slots > 0) || !(jobMs > 0)) throw new RangeError(`Expected slots and a job length above 0, got ${slots} and ${jobMs} ms`);
  return (slots * 1000) / jobMs;
}

/** From the first command's start to the last one's end: the time the drain kept the workers busy. */
export function drainSpanMs(runs: readonly CommandRun[]): number {
  if (runs.length === 0) throw new RangeError('Expected at least one command run, got none');
  let first = Infinity;
  let last = -Infinity;
  for (const run of runs) {
    first = Math.min(first, run.startMs);
    last = Math.max(last, run.endMs);
  }
  return last - first;
}

/**
 * For one host taking `slots` jobs at once: each job's start minus the time its slot became free, the slot
 * freed by the earliest end not yet followed by a start. Every slot is free from `readyAtMs` on (when the jobs
 * became visible in Redis), so the first jobs count the time to their first dispatch. Ends no start follows
 * (the queue ran dry) count nothing: only idle time while jobs were waiting is dispatch overhead.
 * An end and a start at the same time: the end comes first.
 */
export function slotTurnaroundsMs(runs: readonly CommandRun[], slots: number, readyAtMs: number): number[] {
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`Expected slots from 1 up, got ${slots}`);
  const events = runs
    .flatMap((run) => [
      { atMs: run.startMs, start: true },
      { atMs: run.endMs, start: false },
    ])
    .sort((a, b) => a.atMs - b.atMs || Number(a.start) - Number(b.start));
  // Ends are met in time order, so pushing keeps the free slots sorted: the earliest freed is at the front.
  const freeSince: number[] = Array.from({ length: slots }, () => readyAtMs);
  let next = 0;
  const turnarounds: number[] = [];
  for (const event of events) {
    if (!event.start) {
      freeSince.push(event.atMs);
      continue;
    }
    const freed = freeSince[next];
    if (freed === undefined) throw new RangeError(`A host ran more than its ${slots} slot(s) at once, at ${event.atMs.toFixed(1)} ms`);
    next++;
    turnarounds.push(Math.max(0, event.atMs - freed));
  }
  return turnarounds;
}
