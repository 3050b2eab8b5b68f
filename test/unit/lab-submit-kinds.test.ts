import test from 'ava';
import type { HostView } from '../../harness/lab/host-registry.js';
import { kindConcurrency } from '../../harness/lab/kind-concurrency.js';
import { NoDefaultKindError, NoLiveHostError } from '../../harness/lab/lab-errors.js';
import { earlierDeliveries, parseLabJobData } from '../../harness/lab/lab-job.js';
import { assignKinds } from '../../harness/lab/submit-kinds.js';
import { UnknownJobKindError } from '../../harness/scheduler/scheduler-errors.js';
import { validateSuite } from '../../harness/scheduler/suite.js';
import { InvalidOptionError } from '../../lib/errors.js';

function host(id: string, kinds: string[], alive = true): HostView {
  return {
    id,
    hostname: 'm',
    pid: 1,
    kinds: kinds.map((name) => ({ name, backend: 'docker', concurrency: 2 })),
    capacity: kinds.length * 2,
    running: 0,
    ready: 0,
    state: 'running',
    startedAt: '',
    heartbeatAt: '',
    alive,
  };
}

const suite = (jobs: Record<string, unknown>[]) => validateSuite({ name: 's', jobs: jobs.map((job, index) => ({ name: `j${index}`, command: ['true'], ...job })) });

test('every job gets a kind a live host has; jobs naming none get the hosts\' shared default', (t) => {
  const kinded = assignKinds(suite([{ kind: 'beta' }, {}, { kind: 'gamma' }]), [host('h1', ['alpha', 'beta']), host('h2', ['alpha', 'gamma'])]);
  t.deepEqual(
    kinded.jobs.map((job) => job.kind),
    ['beta', 'alpha', 'gamma'],
  );
});

test('a kind only a dead host had is unknown: refused before anything is enqueued, naming the job and the kinds', (t) => {
  const error = t.throws(() => assignKinds(suite([{ kind: 'alpha' }, { kind: 'beta' }]), [host('h1', ['alpha']), host('h2', ['beta'], false)]), {
    instanceOf: UnknownJobKindError,
  });
  t.regex(error?.message ?? '', /job "j1" asks for kind "beta".*the kinds are: "alpha"/);
});

test('no live host: nothing can be checked or run', (t) => {
  t.throws(() => assignKinds(suite([{ kind: 'alpha' }]), [host('h1', ['alpha'], false)]), { instanceOf: NoLiveHostError });
  t.throws(() => assignKinds(suite([{ kind: 'alpha' }]), []), { instanceOf: NoLiveHostError });
});

test('jobs naming no kind are refused when the live hosts disagree on the default', (t) => {
  const error = t.throws(() => assignKinds(suite([{ kind: 'alpha' }, {}]), [host('h1', ['alpha', 'beta']), host('h2', ['beta', 'alpha'])]), {
    instanceOf: NoDefaultKindError,
  });
  t.regex(error?.message ?? '', /"j1" name no kind.*h1: alpha, h2: beta/);
  t.notThrows(() => assignKinds(suite([{ kind: 'alpha' }]), [host('h1', ['alpha', 'beta']), host('h2', ['beta', 'alpha'])]), 'all jobs name their kind: fine');
});

test('a worker reads job data back with the suite format\'s checks: unknown fields and another kind are refused', (t) => {
  const job = { name: 'j', command: ['true'], kind: 'alpha' };
  t.like(parseLabJobData({ suiteId: 's', index: 3, job }, 'alpha'), { suiteId: 's', index: 3, job: { name: 'j', kind: 'alpha', retries: 0, timeoutMs: 600_000 } });
  t.throws(() => parseLabJobData({ suiteId: 's', index: 0, job: { ...job, shell: 'rm -rf /' } }, 'alpha'), { instanceOf: InvalidOptionError, message: /shell/ });
  t.throws(() => parseLabJobData({ suiteId: 's', index: 0, job }, 'beta'), { instanceOf: InvalidOptionError, message: /the kind of the queue/ });
  t.throws(() => parseLabJobData('nonsense', 'alpha'), { instanceOf: InvalidOptionError });
});

test('earlier deliveries: recorded ones not handed back were lost; stalls no host recorded are added', (t) => {
  t.deepEqual(earlierDeliveries(undefined, 0), []);
  t.deepEqual(earlierDeliveries({ deliveries: [{ host: 'h1', startedAt: 'a' }, { host: 'h2', startedAt: 'b', outcome: 'handed-back' }] }, 1), [
    { host: 'h1', startedAt: 'a', outcome: 'lost' },
    { host: 'h2', startedAt: 'b', outcome: 'handed-back' },
  ]);
  t.deepEqual(earlierDeliveries({ deliveries: [{ host: 'h1', startedAt: 'a' }] }, 2), [
    { host: 'h1', startedAt: 'a', outcome: 'lost' },
    { host: '(unrecorded)', startedAt: '', outcome: 'lost' },
  ]);
  t.deepEqual(earlierDeliveries('garbage', 0), []);
});

test('a kind takes up to its max at once; over the host cap, shares are cut in proportion, at least one each', (t) => {
  const kinds = (maxes: number[]) => new Map(maxes.map((max, index) => [`k${index}`, { max }]));
  t.deepEqual([...kindConcurrency(kinds([2, 3]), 10).values()], [2, 3]);
  t.deepEqual([...kindConcurrency(kinds([8, 8]), 8).values()], [4, 4]);
  t.deepEqual([...kindConcurrency(kinds([6, 2]), 4).values()], [3, 1]);
  t.deepEqual([...kindConcurrency(kinds([10, 1]), 4).values()], [3, 1]);
  const total = [...kindConcurrency(kinds([5, 7, 9]), 12).values()].reduce((sum, share) => sum + share, 0);
  t.true(total <= 12, `never more than the host holds: ${total}`);
});
