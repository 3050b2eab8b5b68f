import { errorMessage } from '../../lib/errors.js';
import type { ContainerFactory, ExecResult, RunnableContainer } from '../../lib/index.js';
import { execWithDeadline } from '../scheduler/exec-deadline.js';
import type { JobSpec } from '../scheduler/suite.js';
import { clockSuite, parseAdjtimexWallMs } from './job-start.js';
import { wallClockMs } from './timed-source.js';

function clockJob(): JobSpec {
  const [job] = clockSuite(1).jobs;
  if (job === undefined) throw new Error('the clock suite has no job');
  return job;
}

/** When the command ran, from its output; throws when it did not run to exit code 0 or printed no clock. */
function ranAtMs(exec: ExecResult): number {
  const ranAt = parseAdjtimexWallMs(exec.stdout);
  if (exec.exitCode !== 0 || ranAt === undefined) throw new Error(`the clock command printed no clock (exit code ${exec.exitCode}): ${exec.stderr.slice(0, 200)}`);
  return ranAt;
}

/**
 * The floor the issue compares a job's start with: the engine's own exec (`container.exec`) of the clock command
 * into one idle, running container, one at a time with nothing else running, with the options the job runner
 * gives a command (the job's timeout and env, and a signal), so every wrapper a backend adds for a killable
 * command costs the same here. Each sample is timed from just before the call to the kernel time the command
 * printed. The container is made before and destroyed after; neither is timed.
 */
export async function measureBareExec(
  factory: ContainerFactory<RunnableContainer>,
  { samples, signal }: { samples: number; signal: AbortSignal },
): Promise<number[]> {
  const job = clockJob();
  const container = await factory.createContainer({ signal });
  try {
    const toCommandMs: number[] = [];
    for (let sample = 0; sample < samples; sample++) {
      // As execWithDeadline builds it: the caller's signal joined with one of its own.
      const stop = AbortSignal.any([signal, new AbortController().signal]);
      const calledAt = wallClockMs();
      const exec = await container.exec(job.command, { timeoutMs: job.timeoutMs, env: job.env, signal: stop });
      toCommandMs.push(ranAtMs(exec) - calledAt);
    }
    return toCommandMs;
  } finally {
    await container.destroy();
  }
}

/**
 * The job runner's own call (`execWithDeadline`: the backend's `execFinal` where it has one, else `exec`) once
 * into each of `samples` fresh idle containers, one at a time with nothing else running (each made before and
 * destroyed after, untimed): what a pool job's command start costs on a quiet engine, since every container a
 * pool hands out is fresh and runs one job.
 */
export async function measureRunnerExec(
  factory: ContainerFactory<RunnableContainer>,
  { samples, signal }: { samples: number; signal: AbortSignal },
): Promise<number[]> {
  const job = clockJob();
  const toCommandMs: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    const container = await factory.createContainer({ signal });
    try {
      const calledAt = wallClockMs();
      const ran = await execWithDeadline(container, job, { signal });
      signal.throwIfAborted();
      if (ran.kind !== 'exited') throw new Error(`the job runner's exec did not run: ${ran.kind === 'error' ? errorMessage(ran.error) : ran.kind}`);
      toCommandMs.push(ranAtMs(ran.exec) - calledAt);
    } finally {
      await container.destroy();
    }
  }
  return toCommandMs;
}
