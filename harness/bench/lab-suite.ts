import type { KindedSuite } from '../lab/submit-kinds.js';
import { validateSuite } from '../scheduler/suite.js';
import { benchKind } from './lab-hosts.js';
import { benchJobEnv } from './lab-instant-factory.js';

/**
 * A suite for the lab part, as `warmpool submit` would enqueue it: `jobs` jobs of the bench's kind, each
 * `sleep <jobMs / 1000>`, validated as any suite is. Each job carries its key (`<keyPrefix><index>`) in its
 * environment, so the instant container that runs it says whose command started and ended.
 */
export function benchSuite(name: string, jobs: number, jobMs: number, keyPrefix: string): KindedSuite {
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`Expected jobs from 1 up, got ${jobs}`);
  if (!(jobMs >= 0)) throw new RangeError(`Expected a job length from 0 ms up, got ${jobMs}`);
  const width = String(jobs - 1).length;
  const suite = validateSuite({
    name,
    jobs: Array.from({ length: jobs }, (_, index) => ({
      name: `job-${String(index).padStart(width, '0')}`,
      command: ['sleep', String(jobMs / 1000)],
      env: { [benchJobEnv]: `${keyPrefix}${index}` },
      kind: benchKind,
    })),
  });
  return { name: suite.name, jobs: suite.jobs.map((job) => ({ ...job, kind: benchKind })) };
}
