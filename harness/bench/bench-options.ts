import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isBackendName, type BackendName } from '../backend.js';
import { packageRoot } from '../engine-config.js';
import { parseFlags } from '../command-flags.js';
import { UsageError } from '../usage-error.js';
import { isPartId, partIds, type PartId } from './figures.js';
import { realSuiteModules } from './real-suite-modules.js';

export interface BenchOptions {
  readonly backend: BackendName;
  /** Pool size N; the engine ceiling also creates N containers, so the two are compared on the same batch. */
  readonly size: number;
  readonly workers: number;
  /** Samples for each latency (checkout in process, through the service, on demand). */
  readonly samples: number;
  /** Jobs M in the job-start suite. */
  readonly jobs: number;
  /** Times the ceiling and the refill are each measured; their throughput is the total over all rounds. */
  readonly rounds: number;
  readonly idleMs: number;
  readonly scaleSizes: readonly number[];
  readonly scaleGets: number;
  readonly out: string;
  readonly skip: ReadonlySet<PartId>;
  readonly quick: boolean;
  /** Real-suite part: how many of its test modules run (the first N of the fixed list). */
  readonly suiteModules: number;
  /** Real-suite part: the concurrencies it measures, each with all three modes; the first gives the headline figures. */
  readonly suiteConcurrency: readonly number[];
  /** Demand part: the trace file it replays (phases of Poisson checkouts). */
  readonly demandTrace: string;
  /** Lab part: jobs each worker count drains. */
  readonly labJobs: number;
  /** Lab part: the worker counts it measures, in order; the most workers give the headline dispatch figures. */
  readonly labWorkers: readonly number[];
}

/** The demand part's trace unless --demand-trace names another: a quiet day, a nightly burst, quiet again. */
export const defaultDemandTrace = join(packageRoot, 'fixtures', 'demand', 'nightly-burst.json');
/** The same shape in a third of the time, for --quick. */
export const quickDemandTrace = join(packageRoot, 'fixtures', 'demand', 'nightly-burst-quick.json');

export const benchHelp = `Usage: warmpool bench [options]

Measures, on a real engine and in one run: the engine's own create+start throughput, the pool's refill,
checkout latency (in process and through the service, also from 10,000 samples with instant containers),
on-demand creation, job start latency with the scheduler (pool against create-per-job), job start with
jobs arriving over time (Poisson, at 25/50/90% of the engine's job ceiling, against the bare exec),
steady-state throughput of short jobs against the engine's create+start+remove ceiling, the CPU an idle
full pool costs, pool bookkeeping at 100 to 10,000 containers, a real test suite (CPython's regression tests, one module per job) run with the pool,
with a container per job and on the host, a demand trace (quiet, a nightly burst, quiet) replayed against
fixed pools and a kind sized by demand, what pausing idle containers costs a checkout and saves in CPU, and
whether the lab scales: warmpool workers on Redis (BullMQ) with instant containers, 1 to 20 of them draining
50 ms jobs, against the ideal, and the dispatch latency from enqueue to start (needs the Redis of
\`npm run engines\`, or WARMPOOL_REDIS_URL). Prints a table and writes the same figures as JSON. Leaves no
container behind.

Options:
  --backend docker|lxc   the engine (default docker)
  --size N               pool size, and containers per engine-ceiling round (default 8)
  --workers K            creations at once, for the pool and the ceiling; scheduler concurrency (default 5)
  --samples S            samples per latency figure (default 30; --quick 10)
  --jobs M               jobs in the job-start suite (default 40; --quick 12)
  --rounds R             rounds of the ceiling and refill measurements (default 3; --quick 1)
  --idle-ms MS           idle-cost window (default 6000; --quick 2000)
  --scale-sizes A,B,C    pool sizes for the scale part (default 100,1000,10000; --quick 100,1000)
  --scale-gets G         get() calls per scale size (default 100000; --quick 10000)
  --suite-modules N      real-suite part: test modules, 1 to ${realSuiteModules.length} (default ${realSuiteModules.length}; --quick 4)
  --suite-concurrency A,B  real-suite part: jobs at once, each with all three modes (default the cores and
                         twice that, here ${availableParallelism()},${2 * availableParallelism()}; --quick the cores only)
  --demand-trace FILE    demand part: the trace it replays (default fixtures/demand/nightly-burst.json; --quick nightly-burst-quick.json);
                         one with referenceCreationMs is scaled to the engine's measured creation time
  --lab-jobs N           lab part: jobs each worker count drains (default 2000; --quick 300)
  --lab-workers A,B,C    lab part: worker counts, each taking 4 jobs at once (default 1,5,20)
  --out FILE.json        where the JSON goes (default results/bench-<backend>.json)
  --skip PART,...        leave parts out: ${partIds.join(', ')}
  --quick                fewer samples and shorter parts, for a smoke run (about 2 minutes)
`;

function positiveInteger(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`--${flag} expects an integer from 1 up, got ${JSON.stringify(text)}`);
  return value;
}

function parseSkip(text: string | undefined): Set<PartId> {
  const skip = new Set<PartId>();
  for (const name of (text ?? '').split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    if (!isPartId(name)) throw new UsageError(`--skip expects parts among ${partIds.join(', ')}, got ${JSON.stringify(name)}`);
    skip.add(name);
  }
  return skip;
}

function suiteModules(text: string | undefined, quick: boolean): number {
  const count = positiveInteger('suite-modules', text, quick ? 4 : realSuiteModules.length);
  if (count > realSuiteModules.length) throw new UsageError(`--suite-modules expects at most ${realSuiteModules.length} (the modules listed), got ${count}`);
  return count;
}

export function parseBenchOptions(args: string[]): BenchOptions {
  const cores = availableParallelism();
  const values = parseFlags(args, {
    backend: { type: 'string' },
    size: { type: 'string' },
    workers: { type: 'string' },
    samples: { type: 'string' },
    jobs: { type: 'string' },
    rounds: { type: 'string' },
    'idle-ms': { type: 'string' },
    'scale-sizes': { type: 'string' },
    'scale-gets': { type: 'string' },
    'suite-modules': { type: 'string' },
    'suite-concurrency': { type: 'string' },
    'demand-trace': { type: 'string' },
    'lab-jobs': { type: 'string' },
    'lab-workers': { type: 'string' },
    out: { type: 'string' },
    skip: { type: 'string' },
    quick: { type: 'boolean', default: false },
  });
  const backend = values.backend ?? 'docker';
  if (!isBackendName(backend)) throw new UsageError(`--backend expects docker or lxc, got ${JSON.stringify(backend)}`);
  const quick = values.quick;
  const scaleSizes = (values['scale-sizes'] ?? (quick ? '100,1000' : '100,1000,10000'))
    .split(',')
    .map((size) => positiveInteger('scale-sizes', size.trim(), 0));
  return {
    backend,
    size: positiveInteger('size', values.size, 8),
    workers: positiveInteger('workers', values.workers, 5),
    samples: positiveInteger('samples', values.samples, quick ? 10 : 30),
    jobs: positiveInteger('jobs', values.jobs, quick ? 12 : 40),
    rounds: positiveInteger('rounds', values.rounds, quick ? 1 : 3),
    idleMs: positiveInteger('idle-ms', values['idle-ms'], quick ? 2_000 : 6_000),
    scaleSizes,
    scaleGets: positiveInteger('scale-gets', values['scale-gets'], quick ? 10_000 : 100_000),
    out: values.out ?? `results/bench-${backend}.json`,
    skip: parseSkip(values.skip),
    quick,
    suiteModules: suiteModules(values['suite-modules'], quick),
    suiteConcurrency: (values['suite-concurrency'] ?? (quick ? `${cores}` : `${cores},${2 * cores}`))
      .split(',')
      .map((value) => positiveInteger('suite-concurrency', value.trim(), 0)),
    demandTrace: values['demand-trace'] ?? (quick ? quickDemandTrace : defaultDemandTrace),
    labJobs: positiveInteger('lab-jobs', values['lab-jobs'], quick ? 300 : 2_000),
    labWorkers: (values['lab-workers'] ?? '1,5,20').split(',').map((value) => positiveInteger('lab-workers', value.trim(), 0)),
  };
}
