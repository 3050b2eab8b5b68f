import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import type { Figure, PartResult, Unit } from './figures.js';
import type { LoadInfo, MachineInfo } from './machine.js';

export const reportSchema = 'warmpool-bench/1';

/** The settings a run used, after defaults and `--quick`. */
export type BenchSettingsRecord = Pick<
  BenchOptions,
  'size' | 'workers' | 'samples' | 'jobs' | 'rounds' | 'idleMs' | 'scaleSizes' | 'scaleGets' | 'suiteModules' | 'suiteConcurrency' | 'quick'
> & {
  readonly backend: string;
  readonly skipped: readonly string[];
  /** The demand part's trace file, when that part ran. */
  readonly demandTrace?: string;
  /** The lab part's jobs per worker count and its worker counts, when that part ran. */
  readonly labJobs?: number;
  readonly labWorkers?: readonly number[];
};

/** What `warmpool bench` writes to `--out`: the same figures as the table. */
export interface BenchReport {
  readonly schema: typeof reportSchema;
  /** The command line that produced it. */
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: MachineInfo;
  readonly load: LoadInfo;
  readonly settings: BenchSettingsRecord;
  readonly parts: readonly PartResult[];
}

/** A number the way a reader wants to see it: no more digits than the measurement can carry. */
export function formatValue(value: number | null, unit?: Unit): string {
  if (value === null) return '-';
  if (unit === 'count') return Math.round(value).toLocaleString('en-US');
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 0.01 || value === 0) return value.toFixed(2);
  return value.toPrecision(2);
}

export function formatBytes(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function formatHeader(report: BenchReport): string[] {
  const { machine, load, settings } = report;
  const loads = (values: readonly number[]): string => values.map((value) => value.toFixed(2)).join(' ');
  return [
    `warmpool bench: ${settings.backend}, pool of ${settings.size}, ${settings.workers} workers, ${settings.samples} samples, ${settings.jobs} jobs${settings.quick ? ' (quick)' : ''}`,
    `machine: ${machine.cpuModel}, ${machine.cores} cores, ${formatBytes(machine.memoryBytes)}; node ${machine.node}; kernel ${machine.kernel}; ${machine.engine.version}`,
    `load: load average ${loads(load.loadAverageAtStart)} at start, ${loads(load.loadAverageAtEnd)} at end; all cores ${load.cpuBusyPercent.toFixed(0)}% busy during the run`,
  ];
}

function figureRows(part: PartResult): string[][] {
  if (part.skipped !== undefined) return [[part.title, `skipped: ${part.skipped}`, '', '']];
  return part.figures.map((entry: Figure, index) => [
    index === 0 ? part.title : '',
    entry.label,
    formatValue(entry.value, entry.unit),
    entry.unit,
  ]);
}

/** The table `warmpool bench` prints: one row per figure, grouped by part, then each part's notes. */
export function formatTable(report: BenchReport): string {
  const rows = [['part', 'figure', 'value', 'unit'], ...report.parts.flatMap(figureRows)];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]): string =>
    [
      (row[0] ?? '').padEnd(widths[0] ?? 0),
      (row[1] ?? '').padEnd(widths[1] ?? 0),
      (row[2] ?? '').padStart(widths[2] ?? 0),
      row[3] ?? '',
    ]
      .join('  ')
      .trimEnd();
  const notes = report.parts
    .filter((part) => part.skipped === undefined && part.notes.length > 0)
    .flatMap((part) => part.notes.map((note) => `- ${part.title}: ${note}`));
  return [...formatHeader(report), '', ...rows.map(line), ...(notes.length > 0 ? ['', 'How:', ...notes] : [])].join('\n');
}

export function formatJson(report: BenchReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export async function writeReport(path: string, report: BenchReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, formatJson(report));
}
