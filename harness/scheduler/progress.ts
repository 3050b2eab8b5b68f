import { dirname, join } from 'node:path';
import type { JobResult, JobStatus } from './job-result.js';
import type { SchedulerEvent, SuiteResult } from './scheduler.js';

export interface ProgressOptions {
  readonly stream: NodeJS.WritableStream;
  readonly total: number;
  /** Ready containers now, and how many the pool keeps (a function when that changes with demand). */
  readonly poolReady: () => number;
  readonly poolCapacity: number | (() => number);
  /** Redraw a bar in place. @default whether `stream` is a terminal */
  readonly tty?: boolean;
  /** Colour the statuses. @default `tty` and no NO_COLOR in the environment */
  readonly color?: boolean;
  /** How often the bar is redrawn to show the pool filling up. @default 250 */
  readonly redrawMs?: number;
}

const statusLabels: Record<JobStatus, string> = {
  passed: 'PASS',
  failed: 'FAIL',
  timeout: 'TIME',
  error: 'ERR ',
  cancelled: 'STOP',
};

const statusColors: Record<JobStatus, number> = { passed: 32, failed: 31, timeout: 33, error: 35, cancelled: 90 };

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}

/**
 * Shows a run as it goes. On a terminal: one bar redrawn in place (done, passed, failed, running, pool ready),
 * with a line printed above it as each job ends. Elsewhere (a log, a pipe, CI): only those lines, one per event,
 * so the output reads the same in a file.
 */
export class ProgressReporter {
  readonly #options: ProgressOptions;
  readonly #tty: boolean;
  readonly #color: boolean;
  readonly #waiting = new Set<string>();
  readonly #running = new Set<string>();
  readonly #counts: Record<JobStatus, number> = { passed: 0, failed: 0, timeout: 0, error: 0, cancelled: 0 };
  #done = 0;
  #timer: NodeJS.Timeout | undefined;
  #barShown = false;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#tty = options.tty ?? (options.stream as { isTTY?: boolean }).isTTY === true;
    this.#color = options.color ?? (this.#tty && process.env['NO_COLOR'] === undefined);
  }

  start(): void {
    if (!this.#tty || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#drawBar(), this.#options.redrawMs ?? 250);
    // The bar must never keep a finished run alive.
    this.#timer.unref();
    this.#drawBar();
  }

  /** Removes the bar and stops redrawing. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clearBar();
  }

  /** Feed it the scheduler's events (`onEvent`). */
  handle = (event: SchedulerEvent): void => {
    switch (event.phase) {
      case 'waiting':
        this.#running.delete(event.job);
        this.#waiting.add(event.job);
        break;
      case 'running':
        this.#waiting.delete(event.job);
        this.#running.add(event.job);
        break;
      case 'attempt-ended': {
        this.#running.delete(event.job);
        this.#waiting.delete(event.job);
        const { result } = event;
        if (event.willRetry) {
          const reason = result.reason === undefined ? '' : ` (${result.reason})`;
          this.#print(`      ${this.#paint(result.status, 'RETRY')} ${event.job}: attempt ${result.attempt} ${result.status}${reason}; trying again in a new container`);
        }
        break;
      }
      case 'replaced':
        this.#print(`      ${this.#paint('error', 'DEAD')} ${event.job}: container ${event.replaced.name} was dead at first use (${event.replaced.reason}); taking another (not an attempt)`);
        break;
      case 'job-ended':
        this.#done = event.done;
        this.#counts[event.result.status]++;
        this.#print(this.#jobLine(event.result, event.done, event.total));
        break;
      case 'notice':
        this.#print(`      ${event.message}`);
        break;
    }
    this.#drawBar();
  };

  /** Writes a line above the bar (or just a line, off a terminal). */
  note(line: string): void {
    this.#print(line);
  }

  /** The table at the end: one row per job, then the totals and where the reports are. */
  summary(result: SuiteResult, files: { results: string; junit: string }): void {
    this.stop();
    // The kind only matters when the suite ran in more than one.
    const showKind = new Set(result.jobs.map((job) => job.kind)).size > 1;
    const headers = ['JOB', ...(showKind ? ['KIND'] : []), 'STATUS', 'TRIES', 'EXIT', 'WAIT', 'RUN', 'REASON'];
    const statusColumn = showKind ? 2 : 1;
    const rows = result.jobs.map((job) => [
      job.name,
      ...(showKind ? [job.kind ?? '-'] : []),
      job.status,
      String(job.attempts),
      job.exitCode === null ? '-' : String(job.exitCode),
      formatSeconds(job.waitMs),
      formatSeconds(job.runMs),
      job.reason ?? '',
    ]);
    const widths = headers.map((header, column) => Math.min(40, Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length))));
    const format = (row: readonly string[], paint?: JobStatus): string =>
      row
        .map((cell, column) => {
          const width = widths[column] ?? 0;
          const text = column === row.length - 1 ? cell : cell.length > width ? `${cell.slice(0, width - 1)}…` : cell.padEnd(width);
          return column === statusColumn && paint !== undefined ? this.#paint(paint, text) : text;
        })
        .join('  ')
        .trimEnd();
    const { totals } = result;
    const lines = [
      '',
      format(headers),
      ...rows.map((row, index) => format(row, result.jobs[index]?.status)),
      '',
      `${result.suite}: ${totals.jobs} jobs — ${totals.passed} passed, ${totals.failed} failed, ${totals.timeout} timed out, ${totals.error} errors, ${totals.cancelled} cancelled — ${formatSeconds(result.durationMs)}`,
      ...(result.interrupted === undefined ? [] : [`interrupted: ${result.interrupted}`]),
      ...(totals.replacedContainers === 0 ? [] : [`replaced: ${totals.replacedContainers} container(s) dead at first use, each replaced at once (not counted as attempts)`]),
      ...(result.leftBehind.length === 0
        ? []
        : [`LEFT BEHIND: ${result.leftBehind.length} container(s) could not be removed: ${result.leftBehind.map((left) => `${left.name} (${left.reason})`).join(', ')}`]),
      `results: ${files.results}`,
      `junit:   ${files.junit}`,
      `logs:    ${join(dirname(files.results), 'jobs')}/<job>/attempt-<n>/ (stdout.log, stderr.log, artifacts/)`,
    ];
    this.#options.stream.write(`${lines.join('\n')}\n`);
  }

  #jobLine(job: JobResult, done: number, total: number): string {
    const width = String(total).length;
    const exit = job.exitCode === null ? '' : ` exit ${job.exitCode}`;
    const tries = job.attempts > 1 ? ` after ${job.attempts} attempts` : '';
    const reason = job.status === 'passed' || job.reason === undefined ? '' : ` — ${job.reason}`;
    return `[${String(done).padStart(width)}/${total}] ${this.#paint(job.status, statusLabels[job.status])} ${job.name}${exit} (wait ${formatSeconds(job.waitMs)}, run ${formatSeconds(job.runMs)})${tries}${reason}`;
  }

  #print(line: string): void {
    this.#clearBar();
    this.#options.stream.write(`${line}\n`);
    this.#drawBar();
  }

  #drawBar(): void {
    if (!this.#tty || this.#timer === undefined) return;
    const { total } = this.#options;
    const poolCapacity = typeof this.#options.poolCapacity === 'function' ? this.#options.poolCapacity() : this.#options.poolCapacity;
    const columns = (this.#options.stream as { columns?: number }).columns || 80;
    const c = this.#counts;
    // "failed" here is every job that ended without passing; the lines above the bar say how.
    const notPassed = c.failed + c.timeout + c.error + c.cancelled;
    const waiting = this.#waiting.size === 0 ? '' : ` (+${this.#waiting.size} waiting)`;
    const stats = `${this.#done}/${total} done | ${c.passed} passed | ${notPassed} failed | ${this.#running.size} running${waiting} | pool ${this.#options.poolReady()}/${poolCapacity} ready`;
    const barWidth = Math.max(10, Math.min(30, columns - stats.length - 4));
    const filled = total === 0 ? barWidth : Math.round((this.#done / total) * barWidth);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${stats}`;
    this.#options.stream.write(`\r\x1b[2K${line.slice(0, Math.max(1, columns - 1))}`);
    this.#barShown = true;
  }

  #clearBar(): void {
    if (!this.#barShown) return;
    this.#options.stream.write('\r\x1b[2K');
    this.#barShown = false;
  }

  #paint(status: JobStatus, text: string): string {
    return this.#color ? `\x1b[${statusColors[status]}m${text}\x1b[0m` : text;
  }
}
