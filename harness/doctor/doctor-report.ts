import type { CheckResult, CheckStatus } from './check.js';

export interface DoctorReport {
  /** True when no check failed (warnings and skips allowed). */
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
}

export function doctorReport(checks: readonly CheckResult[]): DoctorReport {
  return { ok: checks.every((check) => check.status !== 'fail'), checks };
}

// Upper case where it needs attention, so a failure stands out in a column of passes without colour.
const labels: Record<CheckStatus, string> = { pass: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };
const idWidth = 11;

/** One check as text lines: `ok   engine      Docker 24.0.5 …`, and its fix indented below. */
export function formatCheck(check: CheckResult): string {
  const lines = [`${labels[check.status]} ${check.id.padEnd(idWidth)}${check.message}`];
  if (check.fix !== undefined && check.status !== 'pass') lines.push(`${' '.repeat(5 + idWidth)}fix: ${check.fix}`);
  return `${lines.join('\n')}\n`;
}

/** The closing line: how many failed and warned. */
export function formatSummary(report: DoctorReport, elapsedMs: number): string {
  const count = (status: CheckStatus): number => report.checks.filter((check) => check.status === status).length;
  const failed = count('fail');
  const warned = count('warn');
  const seconds = (elapsedMs / 1000).toFixed(1);
  if (failed === 0) return `all checks passed${warned > 0 ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''} in ${seconds} s\n`;
  return `${failed} check${failed === 1 ? '' : 's'} failed${warned > 0 ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''} in ${seconds} s\n`;
}
