import { mkdir, writeFile } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../../lib/errors.js';

/** One attempt's log files: its directory, and each file's name and content. */
export interface LogFiles {
  readonly dir: string;
  readonly files: readonly (readonly [name: string, content: string])[];
}

/** fs's callback API, promisified: see writeLogFiles. */
const mkdirAsync = promisify(mkdir);
const writeFileAsync = promisify(writeFile);

/**
 * Writes an attempt's log files: the directory, then the files side by side. The callback API, not
 * fs/promises: each FileHandle costs the event loop about twice as much (measured with a scratch script, 3,000
 * attempts of two small files on /dev/shm: 20-27 against 46-59 µs of event loop per attempt), and with many jobs
 * at once the event loop is what a job's next start waits on.
 */
export async function writeLogFiles({ dir, files }: LogFiles): Promise<void> {
  await mkdirAsync(dir, { recursive: true });
  await Promise.all(files.map(([name, content]) => writeFileAsync(join(dir, name), content)));
}

/**
 * Where a caller that already has an attempt's output (and sends it on with the result) hands the attempt's log
 * files, to be written off the job's path: the job's result does not wait for them.
 */
export interface LogSink {
  write(logs: LogFiles): void;
}

/**
 * Log files written off the job's path: the job's result is returned while its logs are still being written,
 * each write is tracked, and `drain()` waits for them all (a worker calls it before it exits). For a caller
 * whose result already carries the output: the lab's worker sends each stream, capped, with the result, and
 * writes here only the logs the cap cut (see keepCutLogs), as the whole copy the submitter's logs point at. A
 * local `warmpool run`, whose results point at its log files, awaits them instead.
 */
export class BackgroundLogWrites implements LogSink {
  readonly #pending = new Set<Promise<void>>();
  readonly #onError: (dir: string, message: string) => void;

  /** `onError` hears of each attempt whose logs could not be written, with the directory and why. */
  constructor(onError: (dir: string, message: string) => void) {
    this.#onError = onError;
  }

  /** Log writes still going. */
  get pending(): number {
    return this.#pending.size;
  }

  write(logs: LogFiles): void {
    const writing: Promise<void> = writeLogFiles(logs)
      .catch((error: unknown) => this.#onError(logs.dir, errorMessage(error)))
      .finally(() => this.#pending.delete(writing));
    this.#pending.add(writing);
  }

  /** Resolves once every write started so far has ended (failures were reported to `onError`). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }
}
