import type { JobResult, JobStatus } from './job-result.js';
import type { SuiteResult } from './scheduler.js';

/**
 * How statuses map onto JUnit, the format CI systems read:
 * - `passed`: a plain `<testcase>`.
 * - `failed`: `<failure type="failed">`.
 * - `timeout`: `<failure type="timeout">` — the job did not do its work in the time it was given, which is the
 *   job's verdict, not the infrastructure's.
 * - `error`: `<error>` — no container, or the infrastructure failed; the job said nothing.
 * - `cancelled`: `<skipped>` — the run was interrupted before the job could give a verdict.
 * So `failures` = failed + timeout, `errors` = error, `skipped` = cancelled, `tests` = every job.
 */
export const junitElementOf: Record<JobStatus, 'failure' | 'error' | 'skipped' | undefined> = {
  passed: undefined,
  failed: 'failure',
  timeout: 'failure',
  error: 'error',
  cancelled: 'skipped',
};

export interface JunitCounts {
  readonly tests: number;
  readonly failures: number;
  readonly errors: number;
  readonly skipped: number;
}

export function junitCounts(jobs: readonly JobResult[]): JunitCounts {
  const count = (element: 'failure' | 'error' | 'skipped'): number => jobs.filter((job) => junitElementOf[job.status] === element).length;
  return { tests: jobs.length, failures: count('failure'), errors: count('error'), skipped: count('skipped') };
}

// Characters XML 1.0 allows; anything else (NUL, most control characters, lone surrogates) cannot even be
// escaped, so it becomes U+FFFD.
// eslint-disable-next-line no-control-regex -- the allowed control characters (tab, LF, CR) must be listed
const notXmlChar = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/** Text safe inside an XML element or a double- or single-quoted attribute. */
export function escapeXml(text: string): string {
  return text
    .replace(notXmlChar, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Attribute values also escape line breaks and tabs, which an XML parser would otherwise fold into spaces. */
function attribute(name: string, value: string | number): string {
  const escaped = escapeXml(String(value)).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
  return `${name}="${escaped}"`;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

function testcase(suite: string, job: JobResult): string {
  const lines = [`    <testcase ${[attribute('name', job.name), attribute('classname', suite), attribute('time', seconds(job.runMs))].join(' ')}>`];
  // A property, not the classname: CI keeps grouping the suite's tests as before, and can still tell the kinds apart.
  if (job.kind !== undefined) lines.push('      <properties>', `        <property ${attribute('name', 'kind')} ${attribute('value', job.kind)}/>`, '      </properties>');
  const element = junitElementOf[job.status];
  if (element !== undefined) {
    const message = job.reason ?? job.status;
    const detail = [`status: ${job.status}`, `attempts: ${job.attempts}`, ...job.history.map((attempt) => `attempt ${attempt.attempt}: ${attempt.status}${attempt.reason === undefined ? '' : ` (${attempt.reason})`}`)];
    const type = attribute('type', job.status);
    lines.push(
      element === 'skipped'
        ? `      <skipped ${attribute('message', message)}/>`
        : `      <${element} ${attribute('message', message)} ${type}>${escapeXml(detail.join('\n'))}</${element}>`,
    );
  }
  if (job.output !== undefined) {
    if (job.output.stdout !== '') lines.push(`      <system-out>${escapeXml(job.output.stdout)}</system-out>`);
    if (job.output.stderr !== '') lines.push(`      <system-err>${escapeXml(job.output.stderr)}</system-err>`);
  }
  lines.push('    </testcase>');
  return lines.join('\n');
}

/** The JUnit XML report of a run: one `<testsuite>` whose counts match its `<testcase>` elements. */
export function renderJunitXml(result: SuiteResult): string {
  const counts = junitCounts(result.jobs);
  const countAttributes = [
    attribute('tests', counts.tests),
    attribute('failures', counts.failures),
    attribute('errors', counts.errors),
    attribute('skipped', counts.skipped),
    attribute('time', seconds(result.durationMs)),
  ].join(' ');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${attribute('name', result.suite)} ${countAttributes}>`,
    `  <testsuite ${attribute('name', result.suite)} ${countAttributes} ${attribute('timestamp', result.startedAt)}>`,
    ...result.jobs.map((job) => testcase(result.suite, job)),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
