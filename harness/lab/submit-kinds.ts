import { checkJobKinds } from '../scheduler/job-kinds.js';
import type { JobSpec, Suite } from '../scheduler/suite.js';
import type { HostView } from './host-registry.js';
import { NoDefaultKindError, NoLiveHostError } from './lab-errors.js';

/** A suite whose every job names its kind: what goes into the lab. */
export interface KindedSuite {
  readonly name: string;
  readonly jobs: readonly (JobSpec & { readonly kind: string })[];
}

/** The kinds of the live hosts, in the order hosts list them, and the default kind if the hosts agree on one. */
export function liveKinds(hosts: readonly HostView[]): { kinds: string[]; defaultKind: string | undefined; defaults: Map<string, string> } {
  const kinds: string[] = [];
  const defaults = new Map<string, string>();
  for (const host of hosts) {
    if (!host.alive) continue;
    const first = host.kinds[0]?.name;
    if (first !== undefined) defaults.set(host.id, first);
    for (const kind of host.kinds) if (!kinds.includes(kind.name)) kinds.push(kind.name);
  }
  const distinct = new Set(defaults.values());
  return { kinds, defaultKind: distinct.size === 1 ? [...distinct][0] : undefined, defaults };
}

/**
 * Checks every job's kind against the kinds live hosts keep warm, before anything is enqueued, and spells out
 * the kind of jobs naming none: the hosts' default (each config's first kind), when they all have the same.
 * A job can only run in a container of a kind some live host has: one naming another would wait for ever.
 * @throws NoLiveHostError; UnknownJobKindError naming the jobs, their kinds and the kinds there are;
 *   NoDefaultKindError when jobs name no kind and the hosts' defaults differ
 */
export function assignKinds(suite: Suite, hosts: readonly HostView[]): KindedSuite {
  const { kinds, defaultKind, defaults } = liveKinds(hosts);
  if (kinds.length === 0) throw new NoLiveHostError('no worker is alive in the lab: start `warmpool worker` on a host (the kinds a suite may use are those of live workers)');
  checkJobKinds(suite, kinds);
  const unnamed = suite.jobs.filter((job) => job.kind === undefined);
  if (unnamed.length > 0 && defaultKind === undefined) {
    const whose = [...defaults].map(([host, kind]) => `${host}: ${kind}`).join(', ');
    throw new NoDefaultKindError(
      `job(s) ${unnamed.map((job) => JSON.stringify(job.name)).join(', ')} name no kind, and the live hosts' default kinds differ (${whose}); give each job a "kind"`,
    );
  }
  return { name: suite.name, jobs: suite.jobs.map((job) => ({ ...job, kind: job.kind ?? defaultKind ?? '' })) };
}
