import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { readHosts, type HostView } from './host-registry.js';
import type { LabSuiteData } from './lab-job.js';
import { kindQueueName, suitesQueueName } from './lab-keys.js';
import { connectionOptions } from './redis-url.js';

export interface KindQueueStatus {
  readonly kind: string;
  /** Jobs waiting for a host. */
  readonly waiting: number;
  /** Jobs a host is running. */
  readonly active: number;
  readonly completed: number;
  /** Jobs BullMQ failed (a host died under them too often); test failures are completed jobs. */
  readonly failed: number;
  /** Live hosts taking this kind, and how many of its jobs they take at once. */
  readonly hosts: number;
  readonly capacity: number;
}

export interface SuiteInFlight {
  readonly suiteId: string;
  readonly name: string;
  readonly submittedAt: string;
  readonly jobs: number;
  readonly done: number;
}

export interface LabStatus {
  readonly prefix: string;
  readonly hosts: readonly HostView[];
  readonly queues: readonly KindQueueStatus[];
  readonly suites: readonly SuiteInFlight[];
}

/** Suites listed at most (the oldest first). */
const maxSuitesShown = 100;

/** The lab as it is now: every host seen (alive or not), each kind's queue, the suites not yet over. */
export async function labStatus(redisUrl: string, redis: Redis, prefix: string): Promise<LabStatus> {
  const hosts = await readHosts(redis, prefix);
  const kinds = [...new Set(hosts.flatMap((host) => host.kinds.map((kind) => kind.name)))].sort();
  const queues: KindQueueStatus[] = [];
  for (const kind of kinds) {
    const queue = new Queue(kindQueueName(kind), { connection: connectionOptions(redisUrl, 'warmpool-lab-status'), prefix });
    try {
      const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'completed', 'failed');
      const serving = hosts.filter((host) => host.alive).flatMap((host) => host.kinds.filter((entry) => entry.name === kind));
      queues.push({
        kind,
        waiting: (counts['wait'] ?? 0) + (counts['prioritized'] ?? 0) + (counts['delayed'] ?? 0),
        active: counts['active'] ?? 0,
        completed: counts['completed'] ?? 0,
        failed: counts['failed'] ?? 0,
        hosts: serving.length,
        capacity: serving.reduce((sum, entry) => sum + entry.concurrency, 0),
      });
    } finally {
      await queue.close();
    }
  }
  const suites: SuiteInFlight[] = [];
  const queue = new Queue(suitesQueueName, { connection: connectionOptions(redisUrl, 'warmpool-lab-status'), prefix });
  try {
    const parents = (await queue.getJobs(['waiting-children'], 0, maxSuitesShown - 1, true)) as Job<LabSuiteData>[];
    for (const parent of parents) {
      const counts = await parent.getDependenciesCount({ processed: true, ignored: true });
      suites.push({
        suiteId: parent.data.suiteId,
        name: parent.data.name,
        submittedAt: parent.data.submittedAt,
        jobs: parent.data.jobs.length,
        done: (counts.processed ?? 0) + (counts.ignored ?? 0),
      });
    }
  } finally {
    await queue.close();
  }
  return { prefix, hosts, queues, suites };
}

/** The status as tables: hosts, queues per kind, suites in flight. */
export function formatLabStatus(status: LabStatus, now: number = Date.now()): string {
  const hostRows = status.hosts.map((host) => [
    host.id,
    host.alive ? (host.state === 'stopping' ? 'stopping' : 'alive') : host.state === 'stopped' ? 'stopped' : 'DEAD',
    host.kinds.map((kind) => `${kind.name} x${kind.concurrency}`).join(', '),
    String(host.capacity),
    String(host.running),
    String(host.ready),
    host.heartbeatAt === '' ? '-' : `${Math.max(0, Math.round((now - Date.parse(host.heartbeatAt)) / 1000))}s ago`,
    `${host.hostname}:${host.pid}`,
  ]);
  const queueRows = status.queues.map((queue) => [
    queue.kind,
    String(queue.waiting),
    String(queue.active),
    String(queue.completed),
    String(queue.failed),
    String(queue.hosts),
    String(queue.capacity),
  ]);
  const suiteRows = status.suites.map((suite) => [suite.suiteId, suite.name, `${suite.done}/${suite.jobs}`, suite.submittedAt]);
  return [
    `lab ${status.prefix}`,
    '',
    table(['HOST', 'STATE', 'KINDS', 'CAPACITY', 'RUNNING', 'READY', 'HEARTBEAT', 'PROCESS'], hostRows, 'no host has registered'),
    '',
    table(['KIND', 'WAITING', 'RUNNING', 'COMPLETED', 'FAILED', 'HOSTS', 'CAPACITY'], queueRows, 'no kind'),
    '',
    table(['SUITE', 'NAME', 'DONE', 'SUBMITTED'], suiteRows, 'no suite in flight'),
    '',
  ].join('\n');
}

function table(header: readonly string[], rows: readonly string[][], empty: string): string {
  if (rows.length === 0) return `${header.join('  ')}\n(${empty})`;
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
