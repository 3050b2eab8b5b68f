// Each part of the bench measures, then says what it found as figures with units, and how, as notes. Parts run
// in the order the runner gives, so a ratio to an earlier part's figure can be computed here.
import type { ContainerFactory, Pool, RunnableContainer } from '../../lib/index.js';
import type { BackendSettings } from '../backend.js';
import { PoolSource } from '../scheduler/container-source.js';
import type { BenchOptions } from './bench-options.js';
import { measureInProcessCheckout } from './checkout-latency.js';
import { sampleInProcessCheckout, sampleSocketCheckout } from './checkout-samples.js';
import { CreatePerJobSource } from './create-per-job-source.js';
import { measureEngineCeiling } from './engine-ceiling.js';
import { figure, findValue, latencyFigures, type Figure, type PartId, type PartResult } from './figures.js';
import { idleSettleMs, measureIdleCost } from './idle-cost.js';
import { measureSuiteRun } from './job-start.js';
import { measureOnDemand } from './on-demand.js';
import { measureRefill } from './refill.js';
import { measureScaleFigures } from './scale.js';
import { measureServiceCheckout } from './service-checkout.js';
import { perSecond, ratio, summarize } from './stats.js';
import { whenFull } from './when-full.js';

export interface BenchRunContext {
  /** The command line, recorded in the report. */
  readonly command: string;
  /** Aborting it stops the run; everything made so far is still removed. */
  readonly signal: AbortSignal;
  /** One line of progress (the runner does not print). */
  readonly progress: (line: string) => void;
}

export const partTitles: Record<PartId, string> = {
  ceiling: '1 engine ceiling',
  refill: '2 refill',
  checkout: '3a checkout, in process',
  service: '3b checkout, service',
  'on-demand': '4 on demand',
  jobs: '5 job start',
  'job-start': '5b job start, open loop',
  throughput: '5c steady-state throughput',
  idle: '6 idle cost',
  scale: '7 scale (fake factory)',
  'real-suite': '8 real test suite',
  demand: '9 demand trace',
  pause: '10 pause idle',
  lab: '11 lab on Redis (fake factory)',
};

export interface Run {
  readonly options: BenchOptions;
  readonly settings: BackendSettings;
  readonly factory: ContainerFactory<RunnableContainer>;
  readonly context: BenchRunContext;
  readonly parts: PartResult[];
  /** The full pool parts 3a and 6 measure on: the last refill round's, or one made for them. */
  pool?: Pool<RunnableContainer>;
}

export type Measured = Omit<PartResult, 'id' | 'title'>;

export async function ceilingPart({ options, factory, context }: Run): Promise<Measured> {
  const { size, workers, rounds } = options;
  let createWallMs = 0;
  let destroyWallMs = 0;
  const createMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const result = await measureEngineCeiling(factory, { count: size, workers, signal: context.signal });
    createWallMs += result.createWallMs;
    destroyWallMs += result.destroyWallMs;
    createMs.push(...result.createMs);
  }
  return {
    figures: [
      figure('ceiling.createPerSecond', `create+start+ready, ${workers} at once`, perSecond(size * rounds, createWallMs), 'containers/s'),
      ...latencyFigures('ceiling.createMs', 'one creation', summarize(createMs)),
      figure('ceiling.destroyPerSecond', `destroy, ${workers} at once`, perSecond(size * rounds, destroyWallMs), 'containers/s'),
    ],
    notes: [
      `${rounds} round(s) of ${size} containers through the ${options.backend} factory, ${workers} at a time (p-queue), no pool, after one unmeasured warm-up creation; each round's containers then destroyed ${workers} at a time. Throughput is all containers over all rounds' wall time.`,
    ],
  };
}

export async function refillPart(run: Run): Promise<Measured> {
  const { size, workers, rounds } = run.options;
  const fillMs: number[] = [];
  const roundRatios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Each round pairs a refill with an engine-ceiling round, so the engine's drift over the run (its own cleanup
    // after earlier parts, the machine's load) weighs on both sides of the ratio alike; every other round the
    // refill goes first, so whichever comes second paying for the first one's removals evens out too.
    const ceilingRound = () => measureEngineCeiling(run.factory, { count: size, workers, signal: run.context.signal });
    const refillFirst = round % 2 === 1;
    const early = refillFirst ? undefined : await ceilingRound();
    const result = await measureRefill(run.factory, { size, workers }, run.context.signal);
    const ceiling = early ?? (await ceilingRound());
    fillMs.push(result.fillMs);
    roundRatios.push(result.containersPerSecond / ceiling.createPerSecond);
    // The last round's full pool is the one parts 3a and 6 measure on.
    if (round === rounds - 1) run.pool = result.pool;
    else await result.pool.cleanup({ timeoutMs: 60_000 });
  }
  const containersPerSecond = perSecond(size * rounds, fillMs.reduce((sum, ms) => sum + ms, 0));
  return {
    figures: [
      figure('refill.fillMs', `empty pool of ${size} to full, median round`, summarize(fillMs).p50, 'ms'),
      figure('refill.containersPerSecond', `refill, ${workers} workers`, containersPerSecond, 'containers/s'),
      figure('refill.vsCeiling', 'refill / engine ceiling, median of the paired rounds', summarize(roundRatios).p50, 'x'),
      figure('refill.vsCeilingOfPart1', 'refill / engine ceiling of part 1 (all rounds)', ratio(containersPerSecond, findValue(run.parts, 'ceiling.createPerSecond')), 'x'),
    ],
    notes: [
      `${rounds} round(s), each an engine-ceiling round of ${size} creations (${workers} at a time, no pool, then destroyed) and a new Pool({ size: ${size}, maxWorkers: ${workers} }) timed from its construction to the creation event that fills it (pool.on('creation'), no polling), the ceiling first in even rounds and second in odd ones; the ratio is refill over ceiling within each round, and the figure their median. A failed creation fails the part.`,
      `Per-round ratios: ${roundRatios.map((value) => value.toFixed(3)).join(', ')}.`,
    ],
  };
}

async function fullPool(run: Run): Promise<Pool<RunnableContainer>> {
  run.pool ??= (await measureRefill(run.factory, { size: run.options.size, workers: run.options.workers }, run.context.signal)).pool;
  await whenFull(run.pool, { failOnError: true, signal: run.context.signal });
  return run.pool;
}

export async function idlePart(run: Run): Promise<Measured> {
  const pool = await fullPool(run);
  const result = await measureIdleCost(pool, run.options.idleMs, run.context.signal);
  return {
    figures: [
      figure('idle.cpuMs', `CPU over ${(result.durationMs / 1000).toFixed(0)} s, full pool of ${pool.capacity}`, result.totalMs, 'cpu ms'),
      figure('idle.percentOfOneCore', 'as a share of one core', result.percentOfOneCore, '% of one core'),
      figure('idle.medianSliceCpuMs', 'CPU per second, median second', result.medianSliceMs, 'cpu ms'),
      figure('idle.maxSliceCpuMs', 'CPU per second, busiest second', result.maxSliceMs, 'cpu ms'),
      figure('idle.creationsDuring', 'creations in that time', result.creationsDuring, 'count'),
    ],
    notes: [
      `process.cpuUsage() (user + system) of the whole bench process across a ${run.options.idleMs} ms sleep, ${idleSettleMs} ms after the pool was full, holding it with nothing to do; it includes the engine client's open connections and GC: V8's memory reducer may run a full GC a few seconds after the work stops, which shows as one busy second (hence the median second too).`,
    ],
  };
}

export async function checkoutPart(run: Run): Promise<Measured> {
  const pool = await fullPool(run);
  const result = await measureInProcessCheckout(pool, run.options.samples, run.context.signal);
  const many = await sampleInProcessCheckout(run.options.size, manySamples(run), run.context.signal);
  return {
    figures: [
      ...latencyFigures('checkout.inProcess.many', `get(), ${many.count} samples, instant containers`, many),
      ...latencyFigures('checkout.inProcess', `get(), ${run.options.backend} containers`, result.getMs),
      figure('checkout.inProcess.firstMs', 'first get() of the run (cold)', result.firstMs, 'ms'),
      figure('checkout.inProcess.refill.p50', 'destroy + refill between samples, p50', result.refillMs.p50, 'ms'),
    ],
    notes: [
      `many: ${many.count} samples of pool.get() from a full pool of ${run.options.size} whose factory makes in-memory containers at once (so thousands of samples fit the budget; get() does not depend on how a container was made), after 200 unmeasured ones; each container destroyed and the pool full again before the next sample, untimed.`,
      `A first pool.get() (reported as the cold figure), then ${run.options.samples} samples, each one pool.get() from a full pool of ${pool.capacity}; the container is then destroyed (not timed) and the next sample waits for the pool to be full again (pool.on('creation')). get() includes whatever the refill it triggers runs synchronously in the factory before the caller resumes.`,
    ],
  };
}

export async function servicePart(run: Run, poolId: string): Promise<Measured> {
  const { size, workers, samples, idleMs } = run.options;
  const measureIdle = !run.options.skip.has('idle');
  const result = await measureServiceCheckout({
    settings: { ...run.settings, poolId },
    size,
    workers,
    samples,
    idleMs: measureIdle ? idleMs : 0,
    signal: run.context.signal,
    progress: run.context.progress,
  });
  const many = await sampleSocketCheckout(size, manySamples(run), run.context.signal);
  const figures: Figure[] = [
    ...latencyFigures('checkout.service.many', `client.get() over the socket, ${many.count} samples, instant containers`, many),
    ...latencyFigures('checkout.service', `client.get() over the socket, ${run.options.backend} containers`, result.getMs),
    figure('checkout.service.firstMs', "the client's first get() (cold)", result.firstMs, 'ms'),
  ];
  if (result.idle) {
    figures.push(
      figure('service.idle.cpuMs', `service process CPU over ${(result.idle.durationMs / 1000).toFixed(0)} s, full pool`, result.idle.totalMs, 'cpu ms'),
      figure('service.idle.percentOfOneCore', 'as a share of one core', result.idle.percentOfOneCore, '% of one core'),
      figure('service.idle.medianSliceCpuMs', 'service CPU per second, median second', result.idle.medianSliceMs, 'cpu ms'),
      figure('service.idle.maxSliceCpuMs', 'service CPU per second, busiest second', result.idle.maxSliceMs, 'cpu ms'),
    );
  }
  const manyNote = `many: ${many.count} samples of client.get() over the unix socket from a pool service in a child process whose pool makes in-memory containers at once (harness/bench/instant-service.ts), after 200 unmeasured ones; each container released before the next sample, untimed.`;
  return { figures, notes: [manyNote, ...result.notes] };
}

/** Samples for the many-sample checkout figures: enough for a p99.9 that means something. */
function manySamples(run: Run): number {
  return run.options.quick ? 2_000 : 10_000;
}

export async function onDemandPart(run: Run): Promise<Measured> {
  const result = await measureOnDemand(run.factory, run.options.samples, run.context.signal);
  const onDemandP50 = result.createMs.p50;
  return {
    figures: [
      ...latencyFigures('onDemand.createMs', 'create+start+ready', result.createMs),
      figure('onDemand.destroyMs.p50', 'destroy afterwards, p50', result.destroyMs.p50, 'ms'),
      figure('onDemand.inProcessRatio', 'checkout in process p50 / on-demand p50', ratio(findValue(run.parts, 'checkout.inProcess.p50'), onDemandP50), 'x'),
      figure('onDemand.serviceRatio', 'checkout via service p50 / on-demand p50', ratio(findValue(run.parts, 'checkout.service.p50'), onDemandP50), 'x'),
    ],
    notes: [
      `${run.options.samples} containers made one at a time through the factory with nothing else running, each destroyed before the next: the wait of a job that makes its own container.`,
    ],
  };
}

export async function jobsPart(run: Run): Promise<Measured> {
  const { size, workers, jobs } = run.options;
  const { signal } = run.context;
  const poolSource = PoolSource.start(run.factory, { size, maxWorkers: workers, maxErrorsPerHour: Infinity });
  let withPool;
  try {
    await whenFull(poolSource.pool, { failOnError: true, signal });
    withPool = await measureSuiteRun(poolSource, { jobs, concurrency: workers, signal });
  } finally {
    await poolSource.close();
  }
  const perJobSource = new CreatePerJobSource(run.factory);
  let perJob;
  try {
    perJob = await measureSuiteRun(perJobSource, { jobs, concurrency: workers, signal });
  } finally {
    await perJobSource.close();
  }
  const figures: Figure[] = [];
  for (const [key, label, timing] of [
    ['pool', 'pool', withPool],
    ['perJob', 'create per job', perJob],
  ] as const) {
    figures.push(
      ...latencyFigures(`jobs.${key}.toCommandMs`, `${label}: start to command running`, summarize(timing.toCommandMs)).slice(0, 2),
      figure(`jobs.${key}.toContainerMs.p50`, `${label}: start to container in hand, p50`, summarize(timing.toContainerMs).p50, 'ms'),
      figure(`jobs.${key}.wallS`, `${label}: suite wall time`, timing.wallMs / 1000, 's'),
    );
    if (timing.notPassed.length > 0) figures.push(figure(`jobs.${key}.notPassed`, `${label}: jobs not passed`, timing.notPassed.length, 'count'));
  }
  figures.push(
    figure('jobs.startRatio', 'pool p50 / create-per-job p50 (start to command)', ratio(findOwn(figures, 'jobs.pool.toCommandMs.p50'), findOwn(figures, 'jobs.perJob.toCommandMs.p50')), 'x'),
    figure('jobs.wallRatio', 'pool wall / create-per-job wall', ratio(withPool.wallMs, perJob.wallMs), 'x'),
  );
  const failures = [...withPool.notPassed.map((line) => `pool: ${line}`), ...perJob.notPassed.map((line) => `per job: ${line}`)];
  return {
    figures,
    notes: [
      `The scheduler's runSuite ran ${jobs} jobs of \`busybox adjtimex\` at concurrency ${workers}, first with a pool of ${size} (full before the suite starts, refilling as jobs take containers), then with a source that creates a container per job through the same factory. A job's start is its request for a container; its command's start is the kernel time adjtimex printed inside the container (same clock). Each job's container is destroyed after it.`,
      ...failures.slice(0, 5),
    ],
  };
}

function findOwn(figures: readonly Figure[], key: string): number | undefined {
  return figures.find((entry) => entry.key === key)?.value ?? undefined;
}

export async function scalePart({ options, context }: Run): Promise<Measured> {
  return {
    figures: await measureScaleFigures(options.scaleSizes, options.scaleGets, context.signal),
    notes: [
      `measurePoolScale (pool-scale.ts): an instant fake factory, 5 workers; fill is construction to full, then ${options.scaleGets.toLocaleString('en-US')} get() calls, the pool refilled after every \`size\` of them, so each figure is one checkout plus its refill.`,
    ],
  };
}
