import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobResult } from './job-result.js';
import { journalFileName } from './journal.js';
import { renderJunitXml } from './junit-xml.js';
import type { SuiteResult } from './scheduler.js';

export const resultsFileName = 'results.json';
export const junitFileName = 'junit.xml';
export const previousDirName = 'previous';
export const resultsSchemaVersion = 1;
/** Most characters of a job's stdout and stderr that go into junit.xml (the log files hold everything). */
export const junitOutputChars = 65_536;

/** What a run writes into OUT, and what the next run moves aside into OUT/previous/. */
const runOutputs = [resultsFileName, junitFileName, journalFileName, 'jobs'];

/** Facts about the run the scheduler does not know; they go into results.json as given. */
export interface RunDescription {
  /** The suite file, as given on the command line. */
  readonly suiteFile?: string;
  readonly backend?: string;
  /** `in-process` (a pool of its own), `service` (a `warmpool serve` at `socket`) or `lab` (`warmpool submit`). */
  readonly source?: 'in-process' | 'service' | 'lab';
  readonly socket?: string;
  /** The pool id: of the one in-process pool, or the host's of a config (each kind's is `<poolId>.<kind>`). */
  readonly poolId?: string;
  readonly poolSize?: number;
  /** The host config file whose kinds the in-process pools were. */
  readonly config?: string;
  /** The kinds the source had, its default first. */
  readonly kinds?: readonly string[];
  readonly checkoutTimeoutMs?: number;
  /** Set when the results were completed by `--resume`: how many runs the journal holds, this one included. */
  readonly runs?: number;
  /** Set for a suite run in a lab: its id, the lab's prefix, the hosts that ran its jobs, its infrastructure retries. */
  readonly lab?: { readonly suiteId: string; readonly prefix: string; readonly hosts: readonly string[]; readonly infraRetries: number };
}

/** What results.json holds. Paths are relative to the directory results.json is in. */
export interface ResultsDocument extends RunDescription, Omit<SuiteResult, 'jobs'> {
  readonly schemaVersion: number;
  readonly junit: string;
  readonly jobs: readonly Omit<JobResult, 'output'>[];
}

/**
 * Moves what a previous run left in `outDir` (its results, reports, journal and job logs, nothing else) into
 * `outDir/previous/`, replacing the set that was there: no stale log can be mistaken for this run's, and the
 * last run's results survive one more run (a run killed before it wrote results.json keeps its journal).
 * Resolves with the names moved.
 */
export async function prepareOutDir(outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const present = (await Promise.all(runOutputs.map(async (name) => ((await exists(join(outDir, name))) ? name : undefined)))).filter(
    (name): name is string => name !== undefined,
  );
  if (present.length === 0) return [];
  const previous = join(outDir, previousDirName);
  await rm(previous, { recursive: true, force: true });
  await mkdir(previous);
  for (const name of present) await rename(join(outDir, name), join(previous, name));
  return present;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The job's last attempt's output for junit.xml, read back from its log files (the journal does not hold
 * output): at most `junitOutputChars` of each, the end. Missing logs give nothing.
 */
export async function outputFromLogs(outDir: string, job: Pick<JobResult, 'stdout' | 'stderr'>): Promise<{ stdout: string; stderr: string } | undefined> {
  if (job.stdout === null && job.stderr === null) return undefined;
  const [stdout, stderr] = await Promise.all([job.stdout, job.stderr].map(async (file) => (file === null ? '' : readTail(join(outDir, file), junitOutputChars))));
  return { stdout: stdout ?? '', stderr: stderr ?? '' };
}

/** The last `chars` characters (UTF-16 units) of a UTF-8 file, read from its end. */
async function readTail(path: string, chars: number): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    // Enough bytes for `chars` characters of up to 4 bytes, plus a character cut in two at the front.
    const length = Math.min(size, chars * 4 + 3);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    let text = buffer.toString('utf8');
    // A character cut in two at the front decodes as up to three U+FFFD.
    if (length < size) text = text.replace(/^\ufffd{1,3}/, '');
    return text.slice(-chars);
  } finally {
    await handle.close();
  }
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
