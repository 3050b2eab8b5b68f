import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { resultWithoutAttempt, type JobResult } from '../scheduler/job-result.js';
import { suiteTotals, type SuiteResult } from '../scheduler/scheduler.js';
import type { LabJobResult, LabSuiteData } from './lab-job.js';
import { labTiming } from './lab-timing.js';
import { truncationMarker } from './output-cap.js';

/**
 * A job's result when BullMQ failed it instead of a host running it to an end: an `error` (the infrastructure's
 * verdict, never the test's), with the reason in words.
 */
export function labFailureResult(name: string, kind: string, failedReason: string): LabJobResult {
  const reason = /stalled more than allowable limit/.test(failedReason)
    ? `its host died under it ${labTiming.maxStalledCount + 1} times; the lab stopped running it again (a job that kills its hosts would take them all down)`
    : `the lab could not run it: ${failedReason}`;
  return { ...resultWithoutAttempt(name, 'error', reason, kind), kind, host: '', workerOut: '', infraRetries: 0, deliveries: [], outputs: [] };
}

/** A lab job's result as results.json and junit.xml have it: its logs in files of OUT, its last output for junit. */
export type WrittenLabJob = Omit<LabJobResult, 'outputs'> & Pick<JobResult, 'output'>;

/**
 * Writes each attempt's logs, as they came through Redis, where results.json says they are
 * (`OUT/jobs/<job>/attempt-<n>/{stdout,stderr}.log`); a log cut on the way starts with a line saying so and where
 * the whole one is. Resolves with the results, each with its last attempt's output for junit.xml.
 */
export async function writeLabLogs(outDir: string, results: readonly LabJobResult[]): Promise<WrittenLabJob[]> {
  const written: WrittenLabJob[] = [];
  for (const result of results) {
    const { outputs, ...job } = result;
    for (const output of outputs) {
      const attempt = result.history.find((entry) => entry.attempt === output.attempt);
      const streams = [
        [attempt?.stdout, output.stdout, output.stdoutDroppedBytes],
        [attempt?.stderr, output.stderr, output.stderrDroppedBytes],
      ] as const;
      for (const [file, text, dropped] of streams) {
        if (file === undefined || file === null) continue;
        const path = join(outDir, file);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, dropped > 0 ? truncationMarker(dropped, `${result.host}:${join(result.workerOut, file)}`) + text : text);
      }
    }
    const last = outputs.at(-1);
    written.push({ ...job, ...(last === undefined || last.attempt !== result.attempts ? {} : { output: { stdout: last.stdout, stderr: last.stderr } }) });
  }
  return written;
}

/**
 * The whole suite's result, as `warmpool run` has it: its start is the submission, its end the last job's, its
 * concurrency what the live hosts took at once when it was submitted, and its most jobs at once counted from the
 * jobs' own times. Containers are the hosts' to remove: none is listed left behind here.
 */
export function labSuiteResult(data: LabSuiteData, jobs: readonly WrittenLabJob[], now: Date = new Date()): SuiteResult {
  const startedAt = data.submittedAt;
  const ends = jobs.flatMap((job) => job.history.map((attempt) => Date.parse(attempt.endedAt))).filter(Number.isFinite);
  const endedAt = new Date(ends.length === 0 ? now.getTime() : Math.max(...ends));
  return {
    suite: data.name,
    startedAt,
    endedAt: endedAt.toISOString(),
    durationMs: Math.max(0, endedAt.getTime() - Date.parse(startedAt)),
    concurrency: Math.max(1, data.capacity),
    jobs,
    totals: suiteTotals(jobs, []),
    maxActiveJobs: mostAtOnce(jobs),
    leftBehind: [],
  };
}

/** The most jobs whose runs (first attempt's start to last attempt's end) overlapped. */
export function mostAtOnce(jobs: readonly Pick<JobResult, 'history'>[]): number {
  const edges: [number, number][] = [];
  for (const job of jobs) {
    const first = job.history[0];
    const last = job.history.at(-1);
    if (first === undefined || last === undefined) continue;
    edges.push([Date.parse(first.startedAt), 1], [Date.parse(last.endedAt), -1]);
  }
  // Ends before starts at the same instant: touching runs did not overlap.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let active = 0;
  let most = 0;
  for (const [, change] of edges) {
    active += change;
    most = Math.max(most, active);
  }
  return most;
}

/** Infrastructure retries of the whole suite: runs started again because a host died or gave a job back. */
export function totalInfraRetries(jobs: readonly Pick<LabJobResult, 'infraRetries'>[]): number {
  return jobs.reduce((sum, job) => sum + job.infraRetries, 0);
}
