import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The name of the i-th job of a fault suite: easy to find in `warmpool run`'s progress lines. */
export function faultJobName(index: number): string {
  return `fault-job-${String(index).padStart(3, '0')}`;
}

/**
 * Writes a suite of `jobs` jobs that all pass on a healthy engine (each prints its name and sleeps `jobMs`), so
 * any job that does not pass was hit by a fault. Resolves with the file's path.
 */
export async function writeFaultSuite(dir: string, name: string, jobs: number, options: { jobMs: number; retries: number }): Promise<string> {
  const suite = {
    name,
    jobs: Array.from({ length: jobs }, (_, index) => ({
      name: faultJobName(index),
      command: ['/bin/sh', '-c', `echo ${faultJobName(index)}; sleep ${(options.jobMs / 1000).toFixed(3)}`],
      timeoutMs: 30_000,
      retries: options.retries,
    })),
  };
  const path = join(dir, `${name}.json`);
  await writeFile(path, `${JSON.stringify(suite, null, 2)}\n`);
  return path;
}

/** The parts of `warmpool run`'s results.json the suite reads: every job's final status and its attempts. */
export interface RunResults {
  readonly jobs: readonly {
    readonly name: string;
    readonly status: string;
    readonly history?: readonly {
      readonly status: string;
      readonly container?: string;
      readonly startedAt: string;
      readonly endedAt: string;
      readonly waitMs: number;
      readonly reason?: string;
    }[];
  }[];
}

/** results.json of a run, or undefined when there is none (a killed run, today). */
export async function readRunResults(outDir: string): Promise<RunResults | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8')) as Partial<RunResults>;
    return Array.isArray(parsed.jobs) ? (parsed as RunResults) : undefined;
  } catch {
    return undefined;
  }
}

/** Statuses that are a verdict of the job's own command; `error` and `cancelled` are not. */
export const verdictStatuses: ReadonlySet<string> = new Set(['passed', 'failed', 'timeout']);

/** `[ 3/8] PASS ...`: how many jobs a progress line says have ended, or undefined for other lines. */
export function jobsDoneIn(line: string): number | undefined {
  const match = /^\s*\[\s*(\d+)\/(\d+)\]/.exec(line);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** The names of the jobs that `warmpool run`'s progress lines say have ended. */
export function finishedJobs(lines: readonly string[]): string[] {
  const names: string[] = [];
  for (const line of lines) {
    if (jobsDoneIn(line) === undefined) continue;
    const name = /fault-job-[0-9]{3}/.exec(line)?.[0];
    if (name !== undefined) names.push(name);
  }
  return names;
}
