import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobResult } from './job-result.js';
import { renderJunitXml } from './junit-xml.js';
import type { SuiteResult } from './scheduler.js';

export const resultsFileName = 'results.json';
export const junitFileName = 'junit.xml';
export const resultsSchemaVersion = 1;

/** Facts about the run the scheduler does not know; they go into results.json as given. */
export interface RunDescription {
  /** The suite file, as given on the command line. */
  readonly suiteFile?: string;
  readonly backend?: string;
  /** `in-process` (a pool of its own) or `service` (a `warmpool serve` at `socket`). */
  readonly source?: 'in-process' | 'service';
  readonly socket?: string;
  readonly poolId?: string;
  readonly poolSize?: number;
  readonly checkoutTimeoutMs?: number;
}

/** What results.json holds. Paths are relative to the directory results.json is in. */
export interface ResultsDocument extends RunDescription, Omit<SuiteResult, 'jobs'> {
  readonly schemaVersion: number;
  readonly junit: string;
  readonly jobs: readonly Omit<JobResult, 'output'>[];
}

/**
 * Empties what a previous run left in `outDir` (its results, reports and job logs, nothing else), so that no
 * stale log can be mistaken for this run's.
 */
export async function prepareOutDir(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await Promise.all([resultsFileName, junitFileName, 'jobs'].map((name) => rm(join(outDir, name), { recursive: true, force: true })));
}

export function resultsDocument(result: SuiteResult, description: RunDescription = {}): ResultsDocument {
  return {
    schemaVersion: resultsSchemaVersion,
    ...description,
    ...result,
    junit: junitFileName,
    // The output is in the log files; results.json stays small.
    jobs: result.jobs.map(({ output: _output, ...job }) => job),
  };
}

/** Writes results.json and junit.xml; resolves with their paths. */
export async function writeResults(
  outDir: string,
  result: SuiteResult,
  description: RunDescription = {},
): Promise<{ results: string; junit: string }> {
  await mkdir(outDir, { recursive: true });
  const results = join(outDir, resultsFileName);
  const junit = join(outDir, junitFileName);
  await writeFile(results, `${JSON.stringify(resultsDocument(result, description), null, 2)}\n`);
  await writeFile(junit, renderJunitXml(result));
  return { results, junit };
}
