import { ProgressReporter } from '../scheduler/progress.js';
import { prepareOutDir, previousDirName, writeResults } from '../scheduler/results-writer.js';
import type { SuiteResult } from '../scheduler/scheduler.js';
import { readHosts, type HostView } from './host-registry.js';
import type { LabSuiteData } from './lab-job.js';
import { labSuiteResult, totalInfraRetries, writeLabLogs } from './lab-suite-result.js';
import { labRedis } from './redis-client.js';
import { followSuite } from './suite-watch.js';

export interface FollowedRunOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly data: LabSuiteData;
  readonly outDir: string;
  /** The suite file, as given (for results.json); absent when the results are fetched by id. */
  readonly suiteFile?: string;
  readonly stream: NodeJS.WritableStream;
  /** Lines about the run itself (previous results moved aside, Redis trouble). */
  readonly say: (line: string) => void;
  readonly signal?: AbortSignal;
}

/**
 * Shows a suite's progress as `warmpool run` does, and once every job has ended writes the same results.json
 * (with each job's host, deliveries and infrastructure retries) and junit.xml into `outDir`, each attempt's logs
 * as they came through Redis under `outDir/jobs/`, and prints the same summary.
 */
export async function followSuiteRun(options: FollowedRunOptions): Promise<{ result: SuiteResult; files: { results: string; junit: string } }> {
  const { data, outDir } = options;
  const moved = await prepareOutDir(outDir);
  if (moved.length > 0) options.say(`the previous run's ${moved.join(', ')} moved to ${outDir}/${previousDirName}/`);
  // The bar's "pool" is the lab's: ready containers and the jobs the live hosts take at once.
  let hosts: HostView[] = [];
  const registry = labRedis(options.redisUrl, 'warmpool-submit-hosts', () => undefined);
  const refresh = (): void => {
    readHosts(registry, options.prefix).then(
      (found) => (hosts = found.filter((host) => host.alive)),
      () => undefined,
    );
  };
  refresh();
  const timer = setInterval(refresh, 2_000);
  const progress = new ProgressReporter({
    stream: options.stream,
    total: data.jobs.length,
    poolReady: () => hosts.reduce((sum, host) => sum + host.ready, 0),
    poolCapacity: () => hosts.reduce((sum, host) => sum + host.capacity, 0),
  });
  let outcome;
  try {
    progress.start();
    outcome = await followSuite(
      { redisUrl: options.redisUrl, prefix: options.prefix, suiteId: data.suiteId, onEvent: progress.handle, ...(options.signal ? { signal: options.signal } : {}) },
      data,
    );
  } finally {
    clearInterval(timer);
    progress.stop();
    registry.disconnect();
  }
  const jobs = await writeLabLogs(outDir, outcome);
  const result = labSuiteResult(data, jobs);
  const infraRetries = totalInfraRetries(outcome);
  const files = await writeResults(outDir, result, {
    ...(options.suiteFile === undefined ? {} : { suiteFile: options.suiteFile }),
    source: 'lab',
    kinds: [...new Set(data.jobs.map((job) => job.kind))],
    lab: { suiteId: data.suiteId, prefix: options.prefix, hosts: [...new Set(outcome.map((job) => job.host).filter((host) => host !== ''))].sort(), infraRetries },
  });
  progress.summary(result, files);
  if (infraRetries > 0) {
    const jobsRetried = outcome.filter((job) => job.infraRetries > 0).map((job) => job.name);
    options.stream.write(
      `infrastructure retries: ${infraRetries} (${jobsRetried.join(', ')}): run again after a host died under them or gave them back; not failures, not test retries\n`,
    );
  }
  return { result, files };
}
