import type { JobSpec, Suite } from './suite.js';
import { UnknownJobKindError } from './scheduler-errors.js';

/**
 * Checks every job's kind against the kinds a source has, before anything runs: a typo in a kind must fail the
 * run at start, not each of its jobs after a checkout. Jobs naming no kind get the default, which always exists.
 * @throws UnknownJobKindError naming each such job, its kind and the kinds there are
 */
export function checkJobKinds(suite: Suite, kinds: readonly string[]): void {
  const known = new Set(kinds);
  const unknown = suite.jobs.filter((job) => job.kind !== undefined && !known.has(job.kind)).map((job) => ({ job: job.name, kind: job.kind ?? '' }));
  if (unknown.length > 0) throw new UnknownJobKindError(unknown, kinds);
}

/**
 * The job with its kind spelled out: the source's default (its first kind) when the job names none, so its
 * result records the kind it ran in. Unchanged when the source cannot tell its kinds in advance.
 */
export function withDefaultKind<J extends Pick<JobSpec, 'name' | 'kind'>>(job: J, kinds: readonly string[] | undefined): J {
  const fallback = kinds?.[0];
  return job.kind !== undefined || fallback === undefined ? job : { ...job, kind: fallback };
}
