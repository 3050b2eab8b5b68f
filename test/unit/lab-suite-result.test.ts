import test from 'ava';
import { labFailureResult, labSuiteResult, mostAtOnce, totalInfraRetries } from '../../harness/lab/lab-suite-result.js';
import type { AttemptResult } from '../../harness/scheduler/job-result.js';

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
const attempt = (start: number, end: number): AttemptResult => ({
  attempt: 1,
  status: 'passed',
  exitCode: 0,
  startedAt: at(start),
  endedAt: at(end),
  waitMs: 0,
  runMs: (end - start) * 1000,
  stdout: null,
  stderr: null,
  artifacts: [],
  warnings: [],
});

test('the most jobs at once come from the jobs\' own times; touching runs do not overlap', (t) => {
  t.is(mostAtOnce([]), 0);
  t.is(mostAtOnce([{ history: [attempt(0, 10)] }, { history: [attempt(2, 5)] }, { history: [attempt(4, 6)] }]), 3);
  t.is(mostAtOnce([{ history: [attempt(0, 5)] }, { history: [attempt(5, 10)] }]), 1);
  t.is(mostAtOnce([{ history: [] }, { history: [attempt(1, 2)] }]), 1, 'a job that never ran counts for nothing');
});

test('a job BullMQ failed is an infrastructure error, never a test failure, with the reason in words', (t) => {
  const stalled = labFailureResult('j', 'alpha', 'job stalled more than allowable limit');
  t.like(stalled, { name: 'j', kind: 'alpha', status: 'error', exitCode: null, attempts: 0 });
  t.regex(stalled.reason ?? '', /its host died under it 4 times/);
  t.regex(labFailureResult('j', 'alpha', 'refused: bad data').reason ?? '', /the lab could not run it: refused: bad data/);
});

test('the suite result spans submission to the last job\'s end, with run\'s totals and the lab\'s capacity', (t) => {
  const job = (name: string, start: number, end: number, status: 'passed' | 'failed', infraRetries: number) => ({
    ...labFailureResult(name, 'alpha', ''),
    status,
    exitCode: status === 'passed' ? 0 : 1,
    attempts: 1,
    history: [attempt(start, end)],
    infraRetries,
  });
  const jobs = [job('a', 1, 4, 'passed', 0), job('b', 2, 9, 'failed', 1)];
  const result = labSuiteResult({ suiteId: 's', name: 'suite', submittedAt: at(0), jobs: [], capacity: 6 }, jobs);
  t.like(result, { suite: 'suite', startedAt: at(0), endedAt: at(9), durationMs: 9000, concurrency: 6, maxActiveJobs: 2, leftBehind: [] });
  t.like(result.totals, { jobs: 2, passed: 1, failed: 1, error: 0, attempts: 2 });
  t.is(totalInfraRetries(jobs), 1);
});
