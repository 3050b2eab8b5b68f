import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../../lib/errors.js';
import { spawnCli, waitForExit, type CliProcess } from '../cli-process.js';
import { withDeadline } from '../deadline.js';
import { EngineView } from '../engine-view.js';
import type { FaultContext } from '../fault-context.js';
import { FaultDockerd } from '../fault-dockerd.js';
import type { ScenarioOutcome } from '../fault-figures.js';
import { jobsDoneIn, readRunResults, verdictStatuses, writeFaultSuite, type RunResults } from '../suite-files.js';

/** An engine outage, in wall-clock ms (results.json times are wall-clock). */
interface Outage {
  readonly stoppedAt: number;
  readonly backAt: number;
}

/**
 * The Docker engine stopped (SIGTERM through its pidfile: it stops its containers, as on an upgrade) and started
 * again, `rounds` times, while `warmpool run` runs a suite on it. The engine is the fault suite's own second
 * dockerd, never the shared one. Jobs waiting through the outage must run after it; a job whose container died
 * under it is retried; no job may be handed a container the restart left dead.
 */
export async function dockerEngineRestart(context: FaultContext): Promise<ScenarioOutcome> {
  const started = performance.now();
  const { scale, signal, noticeGraceMs } = context;
  const poolId = context.poolId('restart');
  const notes: string[] = [];
  const outages: Outage[] = [];
  const { engine, startMs } = await FaultDockerd.create();
  context.log(`engine-restart: fault dockerd up in ${startMs} ms at ${engine.socket}`);
  const view = new EngineView({ ...context.settings, poolId, dockerSocket: engine.socket });
  const restartTimes: { stopMs: number; startMs: number }[] = [];
  let exit: Awaited<ReturnType<typeof waitForExit>> | undefined;
  let results: RunResults | undefined;
  let left: { left: number; names: string[] } = { left: 0, names: [] };
  let run: CliProcess | undefined;
  const outDir = join(context.workDir, `${poolId}-out`);
  try {
    await mkdir(outDir, { recursive: true });
    const suite = await writeFaultSuite(context.workDir, poolId, scale.jobs, { jobMs: 500, retries: 2 });
    run = spawnCli(
      ['run', suite, '--backend', 'docker', '--pool-id', poolId, '--size', String(scale.poolSize), '--concurrency', String(scale.concurrency)]
        .concat(['--out', outDir, '--checkout-timeout-ms', String(scale.checkoutTimeoutMs)]),
      { DOCKER_HOST: `unix://${engine.socket}` },
    );
    for (let round = 0; round < scale.rounds && !signal.aborted; round++) {
      const target = Math.max(1, Math.floor((scale.jobs * (round + 1)) / (scale.rounds + 1)));
      const line = await run.waitForLine((text) => (jobsDoneIn(text) ?? 0) >= target, scale.checkoutTimeoutMs + 30_000, signal);
      if (line === undefined) {
        notes.push(`round ${round + 1}: the run never reached ${target} jobs done; no more restarts`);
        break;
      }
      const stoppedAt = Date.now();
      const stopMs = await engine.stop();
      await sleep(scale.outageMs, undefined, { signal }).catch(() => undefined);
      const upMs = await engine.start();
      outages.push({ stoppedAt, backAt: Date.now() });
      restartTimes.push({ stopMs, startMs: upMs });
      context.log(`engine-restart: round ${round + 1}: dockerd stopped in ${stopMs} ms, down ${scale.outageMs} ms, up again in ${upMs} ms`);
    }
    // A run that never ends (jobs waiting on a pool that stopped creating) is stopped like a user would, with SIGTERM.
    const runDeadlineMs = context.short ? 40_000 : (scale.checkoutTimeoutMs + 10_000) * 3;
    if ((await withDeadline(run.exited, runDeadlineMs, signal)) === 'timeout') {
      notes.push(`the run had not ended ${runDeadlineMs} ms after the last restart; sent SIGTERM`);
      run.kill('SIGTERM');
    }
    exit = await waitForExit(run, 60_000);
    if (exit.killed) notes.push('the run did not exit within 60 s of SIGTERM; SIGKILLed');
    results = await readRunResults(outDir);
    if (results === undefined) notes.push(`no results.json; the run's stderr ends: ${run.stderr().slice(-400)}`);
  } finally {
    if (run !== undefined && !run.hasExited) {
      notes.push('the scenario stopped early; SIGKILLed the run');
      run.kill('SIGKILL');
      await run.exited;
    }
    left = await view.countLeftAndReap(poolId).catch((error: unknown) => {
      notes.push(`listing the fault engine failed: ${errorMessage(error)}`);
      return { left: 0, names: [] };
    });
    if (left.left > 0) notes.push(`left on the engine: ${left.names.join(', ')}`);
    await engine.remove().catch((error: unknown) => notes.push(`removing the fault dockerd: ${errorMessage(error)}`));
  }
  const judged = judgeRun(results, scale.jobs, outages, noticeGraceMs);
  notes.push(...judged.notes);
  return {
    scenario: 'engine-restart',
    title: 'Docker engine stopped and started mid-suite under `warmpool run`',
    backend: 'docker',
    faultsInjected: outages.length,
    jobsRun: scale.jobs,
    jobsWithoutResult: judged.withoutResult,
    jobsFailedByInfrastructure: judged.hurt,
    deadContainersHandedOut: judged.deadHandedOut,
    containersLeft: left.left,
    serviceRequests: null,
    durationMs: Math.round(performance.now() - started),
    notes,
    details: {
      poolId,
      engineDir: engine.dir,
      engineStartMs: startMs,
      restarts: restartTimes,
      outageMs: scale.outageMs,
      runExit: exit ?? null,
      deadInWindow: judged.deadInWindow,
      statuses: judged.statuses,
    },
  };
}

interface RunJudgement {
  withoutResult: number;
  hurt: number;
  deadHandedOut: number;
  deadInWindow: number;
  statuses: Record<string, number>;
  notes: string[];
}

/**
 * Reads a run's results against the outages: a job without a verdict is lost; a job with any attempt that did not
 * pass was hit by the infrastructure (every job passes on a healthy engine); an attempt that got its container
 * after an outage and failed without another outage under it was handed a container the restart left dead
 * (counted as lost when the engine had been back for `graceMs`).
 */
export function judgeRun(results: RunResults | undefined, jobs: number, outages: readonly Outage[], graceMs: number): RunJudgement {
  const judgement: RunJudgement = { withoutResult: 0, hurt: 0, deadHandedOut: 0, deadInWindow: 0, statuses: {}, notes: [] };
  if (results === undefined) {
    judgement.withoutResult = jobs;
    return judgement;
  }
  judgement.withoutResult = Math.max(0, jobs - results.jobs.length);
  const reasons = new Set<string>();
  for (const job of results.jobs) {
    judgement.statuses[job.status] = (judgement.statuses[job.status] ?? 0) + 1;
    if (!verdictStatuses.has(job.status)) judgement.withoutResult++;
    const attempts = job.history ?? [];
    if (job.status !== 'passed' || attempts.some((attempt) => attempt.status !== 'passed')) judgement.hurt++;
    for (const attempt of attempts) {
      if (attempt.status === 'passed') continue;
      if (attempt.reason !== undefined) reasons.add(`${attempt.status}: ${attempt.reason}`.slice(0, 200));
      if (attempt.container === undefined) continue;
      const handedOutAt = Date.parse(attempt.startedAt) + attempt.waitMs;
      const endedAt = Date.parse(attempt.endedAt);
      if (outages.some((outage) => outage.stoppedAt >= handedOutAt && outage.stoppedAt <= endedAt)) continue; // died under the job
      const before = outages.filter((outage) => outage.stoppedAt < handedOutAt).at(-1);
      if (before === undefined) continue;
      // Handed out during the outage, or after the engine's return: either way the pool had had `graceMs` to know
      // (the engine gone, or its containers stopped by the restart) unless it was sooner than that.
      const knownFor = handedOutAt < before.backAt ? handedOutAt - before.stoppedAt : handedOutAt - before.backAt;
      if (knownFor >= graceMs) judgement.deadHandedOut++;
      else judgement.deadInWindow++;
    }
  }
  judgement.notes.push(...[...reasons].slice(0, 5));
  return judgement;
}
