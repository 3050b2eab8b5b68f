import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../lib/errors.js';
import type { JobResult, LeftBehindContainer } from './job-result.js';
import { JournalUnusableError } from './scheduler-errors.js';

export const journalFileName = 'journal.jsonl';
export const journalVersion = 1;

/** How the run got its containers, kept so `--resume` continues the same way unless told otherwise. */
export interface JournaledSettings {
  readonly backend?: string;
  readonly poolId?: string;
  readonly size?: number;
  readonly socket?: string;
  readonly dockerSocket?: string;
  /** The host config file (absolute) whose kinds the run's in-process pools were. */
  readonly config?: string;
  readonly concurrency: number;
  readonly checkoutTimeoutMs: number;
}

/** The first line of a journal, and the first line of each resume appended to it. */
export interface JournalRunEntry {
  readonly type: 'run';
  readonly journalVersion: number;
  readonly suite: string;
  /** Absolute, so `--resume OUT` finds it from anywhere. */
  readonly suiteFile: string;
  readonly suiteSha256: string;
  /** The suite's job names in order. */
  readonly jobs: readonly string[];
  readonly startedAt: string;
  /** Whether this segment resumed an earlier one. */
  readonly resume: boolean;
  readonly settings: JournaledSettings;
}

/** A job's result as the journal keeps it: what results.json holds (its output is in its log files). */
export type JournaledJob = Omit<JobResult, 'output'>;

export interface JournalJobEntry {
  readonly type: 'job';
  readonly result: JournaledJob;
}

/** The last line of a segment that was not killed. */
export interface JournalEndEntry {
  readonly type: 'end';
  readonly endedAt: string;
  readonly durationMs: number;
  readonly maxActiveJobs: number;
  readonly interrupted?: string;
  readonly leftBehind: readonly LeftBehindContainer[];
}

export type JournalEntry = JournalRunEntry | JournalJobEntry | JournalEndEntry;

/**
 * Appends to OUT/journal.jsonl, one JSON object a line, and flushes each line to the disk (fdatasync) before
 * it resolves: a run killed with SIGKILL, or a host that loses power, keeps every job that was reported done.
 * Writes are serialized in call order.
 */
export class JournalWriter {
  readonly #file: FileHandle;
  readonly path: string;
  #tail: Promise<void> = Promise.resolve();

  private constructor(file: FileHandle, path: string) {
    this.#file = file;
    this.path = path;
  }

  /**
   * Starts the journal of a new run (`resume: false`, the file must not exist: the previous run's was moved
   * aside) or appends a resume segment to an existing one. Writes `header` first.
   */
  static async open(outDir: string, header: Omit<JournalRunEntry, 'type' | 'journalVersion'>): Promise<JournalWriter> {
    const path = join(outDir, journalFileName);
    const file = await open(path, header.resume ? 'a+' : 'wx');
    const writer = new JournalWriter(file, path);
    try {
      // A run killed in the middle of a write left half a line: the header must not be glued to it.
      if (header.resume && !(await endsWithNewline(file))) await file.write('\n');
      await writer.#append({ type: 'run', journalVersion, ...header });
      if (!header.resume) await syncDirectory(outDir);
    } catch (error) {
      await file.close();
      throw error;
    }
    return writer;
  }

  /** Records a finished job; resolves once it is on the disk. */
  record(result: JobResult): Promise<void> {
    return this.#append({ type: 'job', result: withoutOutput(result) });
  }

  /** Records the end of this segment. */
  end(entry: Omit<JournalEndEntry, 'type'>): Promise<void> {
    return this.#append({ type: 'end', ...entry });
  }

  async close(): Promise<void> {
    await this.#tail.catch(() => undefined);
    await this.#file.close();
  }

  #append(entry: JournalEntry): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    const write = this.#tail.then(async () => {
      await this.#file.write(line);
      await this.#file.datasync();
    });
    // A failed write must not stop the next one from trying.
    this.#tail = write.catch(() => undefined);
    return write;
  }
}

async function endsWithNewline(file: FileHandle): Promise<boolean> {
  const { size } = await file.stat();
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  await file.read(last, 0, 1, size - 1);
  return last[0] === 0x0a;
}

/** The output kept in memory for junit.xml is in the job's log files already. */
function withoutOutput({ output: _output, ...job }: JobResult): JournaledJob {
  return job;
}

/** Makes the new journal's directory entry durable too (a file fsynced in a directory that was not may vanish). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the file's own data is still flushed.
  } finally {
    await handle.close();
  }
}

export interface JournalContents {
  /** Each segment's header, first to last. */
  readonly runs: readonly JournalRunEntry[];
  /** Each job's latest result, by name. */
  readonly results: ReadonlyMap<string, JournaledJob>;
  readonly ends: readonly JournalEndEntry[];
  /** Lines that could not be read: at most the last, cut short by a kill mid-write. */
  readonly unreadableLines: number;
}

/** Reads OUT/journal.jsonl. @throws JournalUnusableError when there is none or it does not start with a run header. */
export async function readJournal(outDir: string): Promise<JournalContents> {
  const path = join(outDir, journalFileName);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new JournalUnusableError(path, `no journal could be read (${errorMessage(error)})`);
  }
  const runs: JournalRunEntry[] = [];
  const results = new Map<string, JournaledJob>();
  const ends: JournalEndEntry[] = [];
  let unreadableLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let entry: Partial<JournalEntry>;
    try {
      entry = JSON.parse(line) as Partial<JournalEntry>;
    } catch {
      unreadableLines++;
      continue;
    }
    if (entry.type === 'run') runs.push(entry as JournalRunEntry);
    else if (entry.type === 'job' && typeof (entry as JournalJobEntry).result?.name === 'string') {
      const { result } = entry as JournalJobEntry;
      results.set(result.name, result);
    } else if (entry.type === 'end') ends.push(entry as JournalEndEntry);
    else unreadableLines++;
  }
  const first = runs[0];
  if (first === undefined || first.journalVersion !== journalVersion || typeof first.suiteSha256 !== 'string') {
    throw new JournalUnusableError(path, `it does not start with a run header of journal version ${journalVersion}`);
  }
  return { runs, results, ends, unreadableLines };
}
