import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../../lib/errors.js';
import { cliRun, spawnCli, type CliProcess } from '../cli-process.js';
import { EngineView } from '../engine-view.js';
import type { FaultContext } from '../fault-context.js';
import type { ScenarioOutcome } from '../fault-figures.js';
import { finishedJobs, jobsDoneIn, readRunResults, verdictStatuses, writeFaultSuite } from '../suite-files.js';

/** `warmpool reap` takes only the engine's location. */
function reapEngineFlags(settings: FaultContext['settings']): string[] {
  return settings.backend === 'docker' ? ['--docker-socket', settings.dockerSocket] : ['--lxc-path', settings.lxcPath];
}

/**
 * `warmpool run` SIGKILLed mid-suite (nothing of it can clean up), then `warmpool reap` and `--resume`. Lost: a
 * job that had finished before the kill but whose result is not on disk, a job still without a verdict after the
 * resume, and any container left on the engine.
 */
export async function runSigkill(context: FaultContext): Promise<ScenarioOutcome> {
  const started = performance.now();
  const { scale, signal } = context;
  const poolId = context.poolId('run-kill');
  const settings = { ...context.settings, poolId };
  const view = new EngineView(settings);
  const notes: string[] = [];
  const suite = await writeFaultSuite(context.workDir, poolId, scale.jobs, { jobMs: 300, retries: 0 });
  let injected = 0;
  let lost = 0;
  let infrastructure = 0;
  let resumed = 0;
  const finishedPerKill: number[] = [];
  const base = ['--backend', settings.backend, '--pool-id', poolId, '--size', String(scale.poolSize), '--concurrency', String(scale.concurrency)];
  let run: CliProcess | undefined;
  try {
    for (let round = 0; round < scale.rounds && !signal.aborted; round++) {
      const outDir = join(context.workDir, `${poolId}-out-${round + 1}`);
      await mkdir(outDir, { recursive: true });
      run = spawnCli(['run', suite, ...base, '--out', outDir, '--checkout-timeout-ms', String(scale.checkoutTimeoutMs)]);
      const target = Math.max(2, Math.floor(scale.jobs / 2));
      const reached = await run.waitForLine((line) => (jobsDoneIn(line) ?? 0) >= target, scale.checkoutTimeoutMs + 60_000, signal);
      if (reached === undefined) notes.push(`round ${round + 1}: ${target} jobs were not done in time; killed anyway`);
      run.kill('SIGKILL');
      await run.exited;
      const finished = new Set(finishedJobs(run.lines));
      run = undefined;
      injected++;
      finishedPerKill.push(finished.size);

      const reap = await cliRun(['reap', '--backend', settings.backend, '--pool-id', poolId, ...reapEngineFlags(settings)]);
      if (reap.code !== 0) notes.push(`warmpool reap exited ${reap.code}: ${reap.stderr.slice(-300)}`);
      const resumedRun = await cliRun(['run', '--resume', outDir, '--checkout-timeout-ms', String(scale.checkoutTimeoutMs)]);
      resumed++;
      if (resumedRun.code !== 0) notes.push(`the resumed run exited ${resumedRun.code}: ${resumedRun.stderr.slice(-300)}`);
      const results = await readRunResults(outDir);
      const byName = new Map((results?.jobs ?? []).map((job) => [job.name, job]));
      const missing = [...finished].filter((name) => !verdictStatuses.has(byName.get(name)?.status ?? ''));
      lost += missing.length;
      if (missing.length > 0) notes.push(`round ${round + 1}: ${missing.length} of ${finished.size} jobs finished before the kill have no result on disk`);
      const unfinished = scale.jobs - [...byName.values()].filter((job) => verdictStatuses.has(job.status)).length;
      lost += Math.max(0, unfinished - missing.length);
      infrastructure += [...byName.values()].filter((job) => job.status !== 'passed').length;
      context.log(`run-sigkill: round ${round + 1}: SIGKILLed after ${finished.size} jobs; ${missing.length} finished job(s) without a result on disk`);
    }
  } finally {
    if (run) {
      run.kill('SIGKILL');
      await run.exited;
    }
  }
  const left = await view.countLeftAndReap(poolId).catch((error: unknown) => {
    notes.push(`listing the engine failed: ${errorMessage(error)}`);
    return { left: 0, names: [] as string[] };
  });
  if (left.left > 0) notes.push(`left on the engine after warmpool reap: ${left.names.join(', ')}`);
  return {
    scenario: 'run-sigkill',
    title: '`warmpool run` SIGKILLed mid-suite, then `warmpool reap`',
    backend: context.backend,
    faultsInjected: injected,
    jobsRun: scale.jobs * Math.max(1, injected),
    jobsWithoutResult: lost,
    jobsFailedByInfrastructure: infrastructure,
    deadContainersHandedOut: null,
    containersLeft: left.left,
    serviceRequests: null,
    durationMs: Math.round(performance.now() - started),
    notes,
    details: { poolId, finishedBeforeKill: finishedPerKill, resumed },
  };
}
