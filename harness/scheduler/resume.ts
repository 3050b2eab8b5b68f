import { resultWithoutAttempt, type JobResult } from './job-result.js';
import type { JournalContents, JournaledJob } from './journal.js';
import { suiteTotals, type SuiteResult } from './scheduler.js';
import { SuiteChangedError } from './scheduler-errors.js';
import type { Suite } from './suite.js';

/**
 * A job has a result once the journal holds one that is not `cancelled`: a cancelled job never gave a verdict
 * (the run was interrupted), so a resume runs it again, as it runs the jobs a killed run never finished.
 */
export function hasResult(result: JournaledJob | undefined): result is JournaledJob {
  return result !== undefined && result.status !== 'cancelled';
}

/** Refuses a suite file whose bytes are not those the journaled run started with. */
export function assertSameSuite(journal: JournalContents, suiteFile: string, sha256: string): void {
  const journaled = journal.runs[0]?.suiteSha256 ?? '';
  if (journaled !== sha256) throw new SuiteChangedError(suiteFile, journaled, sha256);
}

/** The jobs of `suite` still to run: those without a result in the journal, in suite order. */
export function jobsToRun(suite: Suite, journal: JournalContents): Suite {
  return { name: suite.name, jobs: suite.jobs.filter((job) => !hasResult(journal.results.get(job.name))) };
}

/**
 * The whole suite's result, from the journal read back after this run: this run's jobs (`run`, which may be
 * empty; they win over the journal should a write of theirs have failed) and, for the others, their latest
 * result in the journal, with `outputs` (read back from their logs). `thisRunStartedAt` is this run's header's. Durations add up each run's own (a killed run's lasted until its last journaled
 * attempt ended), so the time between a kill and its resume is not counted.
 */
export function mergeWithJournal(
  suite: Suite,
  journal: JournalContents,
  run: SuiteResult,
  outputs: ReadonlyMap<string, JobResult['output']>,
  thisRunStartedAt: string,
): SuiteResult {
  const ranNow = new Map(run.jobs.map((job) => [job.name, job]));
  const jobs: JobResult[] = suite.jobs.map((spec) => {
    const now = ranNow.get(spec.name);
    if (now !== undefined) return now;
    const journaled = journal.results.get(spec.name);
    if (journaled === undefined) return neverRun(spec.name);
    const output = outputs.get(spec.name);
    return output === undefined ? journaled : { ...journaled, output };
  });
  const earlier = journal.runs.filter((segment) => segment.startedAt !== thisRunStartedAt);
  const earlierMs = earlier.reduce((sum, segment, index) => sum + segmentDurationMs(segment.startedAt, earlier[index + 1]?.startedAt, journal), 0);
  const maxActiveJobs = Math.max(run.maxActiveJobs, ...journal.ends.map((end) => end.maxActiveJobs));
  return {
    ...run,
    startedAt: earlier[0]?.startedAt ?? run.startedAt,
    durationMs: run.durationMs + earlierMs,
    jobs,
    totals: suiteTotals(jobs, run.leftBehind),
    maxActiveJobs,
  };
}

/** A segment's length: from its header to its end line, or to the last attempt that ended before the next segment. */
function segmentDurationMs(startedAt: string, nextStartedAt: string | undefined, journal: JournalContents): number {
  const start = Date.parse(startedAt);
  const limit = nextStartedAt === undefined ? Infinity : Date.parse(nextStartedAt);
  const ended = journal.ends.find((end) => Date.parse(end.endedAt) >= start && Date.parse(end.endedAt) <= limit);
  if (ended !== undefined) return ended.durationMs;
  let last = start;
  for (const job of journal.results.values()) {
    for (const attempt of job.history) {
      const at = Date.parse(attempt.endedAt);
      if (at >= start && at <= limit) last = Math.max(last, at);
    }
  }
  return last - start;
}

/** A job the journal has no result for after a run that should have run it: only a bug leads here. */
function neverRun(name: string): JobResult {
  return resultWithoutAttempt(name, 'error', 'the scheduler has no result for this job');
}
