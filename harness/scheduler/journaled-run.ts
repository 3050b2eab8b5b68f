import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../lib/errors.js';
import type { ContainerSource } from './container-source.js';
import type { JobResult, LeftBehindContainer } from './job-result.js';
import { JournalWriter, readJournal, type JournalContents, type JournaledSettings } from './journal.js';
import type { ProgressReporter } from './progress.js';
import { outputFromLogs, prepareOutDir, previousDirName, writeResults, type RunDescription } from './results-writer.js';
import { mergeWithJournal } from './resume.js';
import { runSuite, type SchedulerOptions, type SuiteResult } from './scheduler.js';
import { jobDirectoryName, type Suite } from './suite.js';

export interface JournaledRunOptions extends Pick<SchedulerOptions, 'concurrency' | 'checkoutTimeoutMs' | 'signal' | 'removalTimeoutMs' | 'clock'> {
  readonly suite: Suite;
  /** Absolute; kept in the journal so `--resume OUT` finds it. */
  readonly suiteFile: string;
  readonly suiteSha256: string;
  /** The jobs to run now: the whole suite, or (resuming) those without a result in `resumed`. */
  readonly toRun: Suite;
  /** The journal of the run this one resumes, as read at start. */
  readonly resumed?: JournalContents;
  readonly outDir: string;
  /** Where containers come from; none when a resume has nothing left to run. Closed here. */
  readonly source: ContainerSource | undefined;
  readonly description: RunDescription;
  readonly settings: JournaledSettings;
  readonly progress: ProgressReporter;
  /** Lines about the run itself (previous results moved aside, problems with the journal). */
  readonly say: (line: string) => void;
  /** Called once the output directory is ready and the journal started, just before the first job. */
  readonly onStart?: () => void;
}

export interface JournaledRun {
  /** The whole suite's, this run's jobs and (resuming) the journal's. */
  readonly result: SuiteResult;
  readonly files: { readonly results: string; readonly junit: string };
}

/** The output directory cannot be used (not a directory, not writable); nothing was run. */
export class OutDirUnusableError extends Error {
  override readonly name = 'OutDirUnusableError';
}

/**
 * A run that survives being killed: the previous run's results are moved aside (or, resuming, the logs of the
 * jobs to run again are cleared), every job's result is journaled and flushed as it ends, and results.json and
 * junit.xml are built from the journal at the end, for the whole suite. `source` is closed here; what neither
 * the jobs nor the pool's cleanup could remove is in `result.leftBehind`.
 */
export async function runJournaled(options: JournaledRunOptions): Promise<JournaledRun> {
  const { suite, toRun, resumed, outDir, source, progress } = options;
  const startedAt = new Date().toISOString();
  let writer: JournalWriter;
  let runResult: SuiteResult;
  let notRemovedByPool: readonly string[] = [];
  try {
    try {
      if (resumed === undefined) {
        const moved = await prepareOutDir(outDir);
        if (moved.length > 0) options.say(`The previous run's ${moved.join(', ')} moved to ${join(outDir, previousDirName)}/`);
      } else {
        await clearJobLogs(outDir, toRun);
      }
      writer = await JournalWriter.open(outDir, {
        suite: suite.name,
        suiteFile: options.suiteFile,
        suiteSha256: options.suiteSha256,
        jobs: suite.jobs.map((job) => job.name),
        startedAt,
        resume: resumed !== undefined,
        settings: options.settings,
      });
    } catch (error) {
      throw new OutDirUnusableError(`${outDir} cannot be used: ${errorMessage(error)}`, { cause: error });
    }
    options.onStart?.();
    progress.start();
    const journal = writer;
    runResult = await runSuite(toRun, {
      source: source ?? noSource,
      concurrency: options.concurrency,
      outDir,
      ...(options.checkoutTimeoutMs === undefined ? {} : { checkoutTimeoutMs: options.checkoutTimeoutMs }),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.removalTimeoutMs === undefined ? {} : { removalTimeoutMs: options.removalTimeoutMs }),
      ...(options.clock ? { clock: options.clock } : {}),
      onEvent: progress.handle,
      recordJob: (result) => journal.record(result),
    });
  } finally {
    progress.stop();
    if (source !== undefined) {
      await source.close().catch((error: unknown) => options.say(`cleaning up the pool failed: ${errorMessage(error)}`));
      notRemovedByPool = source.notRemoved ?? [];
    }
  }

  const leftBehind: LeftBehindContainer[] = [
    ...runResult.leftBehind,
    ...notRemovedByPool.map((name) => ({ name, reason: "the pool's cleanup could not remove it" })),
  ];
  const { interrupted } = runResult;
  await writer
    .end({ endedAt: runResult.endedAt, durationMs: runResult.durationMs, maxActiveJobs: runResult.maxActiveJobs, leftBehind, ...(interrupted === undefined ? {} : { interrupted }) })
    .catch((error: unknown) => options.say(`the journal could not be completed: ${errorMessage(error)}`));
  await writer.close();

  const thisRun = { ...runResult, leftBehind, totals: { ...runResult.totals, leftBehind: leftBehind.length } };
  const { result, runs } = await wholeSuiteResult(outDir, suite, resumed, startedAt, thisRun, options.say);
  const files = await writeResults(outDir, result, { ...options.description, ...(runs > 1 ? { runs } : {}) });
  return { result, files };
}

/** Empties the log directories of the jobs a resume runs again, so no log of a killed attempt passes for theirs. */
async function clearJobLogs(outDir: string, jobs: Suite): Promise<void> {
  await Promise.all(jobs.jobs.map((job) => rm(join(outDir, 'jobs', jobDirectoryName(job.name)), { recursive: true, force: true })));
}

/**
 * The whole suite's result, built from the journal as it is on the disk now: the jobs of earlier runs (a resume)
 * with their output read back from their logs, and this run's. Should the journal have become unreadable, the one
 * read at start (and this run's results) serve.
 */
async function wholeSuiteResult(
  outDir: string,
  suite: Suite,
  readAtStart: JournalContents | undefined,
  thisRunStartedAt: string,
  thisRun: SuiteResult,
  say: (line: string) => void,
): Promise<{ result: SuiteResult; runs: number }> {
  let journal: JournalContents;
  try {
    journal = await readJournal(outDir);
  } catch (error) {
    say(`the journal could not be read back (${errorMessage(error)}); the results are built from what this run holds`);
    if (readAtStart === undefined) return { result: thisRun, runs: 1 };
    journal = readAtStart;
  }
  const ranNow = new Set(thisRun.jobs.map((job) => job.name));
  const outputs = new Map<string, JobResult['output']>();
  for (const [name, job] of journal.results) {
    if (!ranNow.has(name)) outputs.set(name, await outputFromLogs(outDir, job));
  }
  const runs = journal.runs.filter((segment) => segment.startedAt !== thisRunStartedAt).length + 1;
  return { result: mergeWithJournal(suite, journal, thisRun, outputs, thisRunStartedAt), runs };
}

/** The source of a resume with nothing left to run: never asked for a container. */
const noSource: ContainerSource = {
  capacity: 0,
  ready: () => 0,
  checkout: () => Promise.reject(new Error('no job is left to run')),
  close: () => Promise.resolve(),
};
