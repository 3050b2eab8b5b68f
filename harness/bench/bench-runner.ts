import { errorMessage } from '../../lib/errors.js';
import { createBackendFactory, reapBackendOrphans, resolveBackendSettings } from '../backend.js';
import type { BenchOptions } from './bench-options.js';
import {
  checkoutPart,
  ceilingPart,
  idlePart,
  jobsPart,
  onDemandPart,
  partTitles,
  refillPart,
  scalePart,
  servicePart,
  type BenchRunContext,
  type Measured,
  type Run,
} from './bench-parts.js';
import { demandPart } from './demand-part.js';
import { partIds, type PartId } from './figures.js';
import { labPart } from './lab-part.js';
import { openLoopPart } from './open-loop-part.js';
import { pausePart } from './pause-part.js';
import { realSuitePart } from './real-suite-part.js';
import { throughputPart } from './throughput-part.js';
import { describeMachine, watchLoad } from './machine.js';
import { reportSchema, type BenchReport } from './report.js';

export type { BenchRunContext } from './bench-parts.js';

/** Parts that make no container on the engine: the warm-up creation is not needed for them. */
const engineFreeParts: ReadonlySet<PartId> = new Set(['scale', 'lab']);

/** The pool ids of a run: the in-process pools' and the service's, both reaped at the end. */
export function benchPoolIds(pid = process.pid): { local: string; service: string } {
  return { local: `bench-${pid}`, service: `bench-svc-${pid}` };
}

/**
 * Runs every part not skipped, in an order that lets later parts reuse a full pool and compare with earlier
 * figures, and returns the report (parts in their numbered order). A part that fails is recorded as such and
 * the others still run. Whatever happens, the pools are cleaned up and both pool ids reaped before it returns.
 */
export async function runBench(options: BenchOptions, context: BenchRunContext): Promise<{ report: BenchReport; failed: boolean }> {
  const startedAt = new Date().toISOString();
  const load = watchLoad();
  const ids = benchPoolIds();
  const settings = resolveBackendSettings({ backend: options.backend, poolId: ids.local });
  const run: Run = { options, settings, factory: createBackendFactory(settings), context, parts: [] };
  const machine = await describeMachine(settings);
  let failed = false;
  try {
    if (partIds.some((id) => !engineFreeParts.has(id) && !options.skip.has(id))) {
      context.progress('warm-up: one unmeasured creation (image check, caches)');
      const warmUp = await run.factory.createContainer({ signal: context.signal });
      await warmUp.destroy();
    }
    const steps: [PartId, () => Promise<Measured>][] = [
      ['ceiling', () => ceilingPart(run)],
      ['refill', () => refillPart(run)],
      ['idle', () => idlePart(run)],
      ['checkout', () => checkoutPart(run)],
      ['service', () => servicePart(run, ids.service)],
      ['on-demand', () => onDemandPart(run)],
      ['jobs', () => jobsPart(run)],
      // 5c before 5b: its engine ceiling, measured at length, is the one 5b's loads are shares of.
      ['throughput', () => throughputPart(run)],
      ['job-start', () => openLoopPart(run)],
      ['scale', () => scalePart(run)],
      ['real-suite', () => realSuitePart(run)],
      ['demand', () => demandPart(run)],
      ['pause', () => pausePart(run)],
      ['lab', () => labPart(run)],
    ];
    for (const [id, measure] of steps) {
      const title = partTitles[id];
      if (options.skip.has(id)) {
        run.parts.push({ id, title, figures: [], notes: [], skipped: 'left out with --skip' });
        continue;
      }
      context.signal.throwIfAborted();
      context.progress(`${title}...`);
      const partStart = performance.now();
      try {
        run.parts.push({ id, title, ...(await measure()) });
        // Each part's share of the run, so the bench's time budget can be kept part by part.
        context.progress(`${title}: done in ${((performance.now() - partStart) / 1000).toFixed(1)} s`);
      } catch (error) {
        if (context.signal.aborted) throw error;
        failed = true;
        context.progress(`${title} failed: ${errorMessage(error)}`);
        run.parts.push({ id, title, figures: [], notes: [], skipped: `failed: ${errorMessage(error)}` });
      }
    }
  } finally {
    await run.pool?.cleanup({ timeoutMs: 120_000 }).catch((error: unknown) => context.progress(`pool cleanup: ${errorMessage(error)}`));
    for (const poolId of [ids.local, ids.service]) {
      const reaped = await reapBackendOrphans({ ...settings, poolId }, true).catch((error: unknown) => {
        context.progress(`reaping pool ${poolId} failed: ${errorMessage(error)}`);
        return { removed: [] };
      });
      if (reaped.removed.length > 0) context.progress(`reaped ${reaped.removed.length} leftover containers of pool ${poolId}`);
    }
  }
  const parts = [...run.parts].sort((a, b) => partIds.indexOf(a.id) - partIds.indexOf(b.id));
  const report: BenchReport = {
    schema: reportSchema,
    command: context.command,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    load: load.finish(),
    settings: {
      backend: options.backend,
      size: options.size,
      workers: options.workers,
      samples: options.samples,
      jobs: options.jobs,
      rounds: options.rounds,
      idleMs: options.idleMs,
      scaleSizes: options.scaleSizes,
      scaleGets: options.scaleGets,
      suiteModules: options.suiteModules,
      suiteConcurrency: options.suiteConcurrency,
      quick: options.quick,
      skipped: partIds.filter((id) => options.skip.has(id)),
      ...(options.skip.has('demand') ? {} : { demandTrace: options.demandTrace }),
      ...(options.skip.has('lab') ? {} : { labJobs: options.labJobs, labWorkers: options.labWorkers }),
    },
    parts,
  };
  return { report, failed };
}
