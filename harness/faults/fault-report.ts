import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { figureDefinitions, isClean, type ScenarioOutcome } from './fault-figures.js';
import type { BackendFaultReport } from './fault-suite.js';

export const faultReportSchema = 'warmpool-faults/1';

/** What `warmpool faults --json FILE` writes: one report per backend run, and what every figure means. */
export interface FaultReportDocument {
  readonly schema: typeof faultReportSchema;
  readonly command: string;
  readonly definitions: Readonly<Record<string, string>>;
  readonly runs: readonly BackendFaultReport[];
  readonly clean: boolean;
}

export function faultReportDocument(command: string, runs: readonly BackendFaultReport[]): FaultReportDocument {
  return { schema: faultReportSchema, command, definitions: figureDefinitions, runs, clean: runs.every((run) => run.clean) };
}

export async function writeFaultReport(path: string, document: FaultReportDocument): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(document, null, 2)}\n`);
}

const lostMark = '  <- LOST';

function scenarioRows(outcome: ScenarioOutcome): [string, string][] {
  const lost = (value: number): string => `${value}${value > 0 ? lostMark : ''}`;
  const rows: [string, string][] = [
    ['faults injected', String(outcome.faultsInjected)],
    ['jobs run', String(outcome.jobsRun)],
    ['jobs without a result', lost(outcome.jobsWithoutResult)],
    ['jobs failed by infrastructure', String(outcome.jobsFailedByInfrastructure)],
    ['dead containers handed out', outcome.deadContainersHandedOut === null ? '-' : lost(outcome.deadContainersHandedOut)],
    ['containers left on the engine', lost(outcome.containersLeft)],
    [
      'service requests answered after the faults',
      outcome.serviceRequests === null ? '-' : `${outcome.serviceRequests.answered} of ${outcome.serviceRequests.sent}`,
    ],
    ['duration', `${(outcome.durationMs / 1000).toFixed(1)} s`],
  ];
  return rows;
}

/** One small table per scenario, its notes under it, and the verdict. */
export function formatFaultReport(report: BackendFaultReport): string {
  const lines: string[] = [
    `warmpool faults: ${report.backend}${report.short ? ' (short)' : ''}, ${report.scenarios.length} scenarios in ${(report.durationMs / 1000).toFixed(1)} s; ` +
      `${report.machine.cores} cores, load ${report.machine.loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')} at start; notice grace ${report.noticeGraceMs} ms`,
  ];
  for (const outcome of report.scenarios) {
    lines.push('', `${isClean(outcome) ? 'ok  ' : 'FAIL'} ${outcome.scenario}: ${outcome.title}`);
    const rows = scenarioRows(outcome);
    const width = Math.max(...rows.map(([label]) => label.length));
    for (const [label, value] of rows) lines.push(`     ${label.padEnd(width)}  ${value}`);
    for (const note of outcome.notes) lines.push(`     - ${note}`);
    if (outcome.error !== undefined) lines.push(`     ! the scenario failed: ${outcome.error.split('\n').slice(0, 3).join(' | ')}`);
  }
  const failed = report.scenarios.filter((outcome) => !isClean(outcome)).map((outcome) => outcome.scenario);
  lines.push('', failed.length === 0 ? `${report.backend}: nothing lost in any scenario` : `${report.backend}: lost figures in ${failed.join(', ')}`);
  return lines.join('\n');
}
