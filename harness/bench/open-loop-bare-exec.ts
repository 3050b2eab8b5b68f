import { errorMessage } from '../../lib/errors.js';
import type { ContainerFactory, RunnableContainer } from '../../lib/index.js';
import { execWithDeadline } from '../scheduler/exec-deadline.js';
import { clockSuite, parseAdjtimexWallMs } from './job-start.js';
import { wallClockMs } from './timed-source.js';

export interface BareExecResult {
  /** Per sample: from just before the exec call to the command running (the kernel time it printed). */
  readonly toCommandMs: readonly number[];
  /** The first of them: the first exec into the freshly made container, as a pool job's exec always is. */
  readonly firstMs: number;
}

/**
 * The floor a job's start is compared with: the clock command exec'd into one idle, running container, one exec
 * at a time with nothing else running. The call is the job runner's own (`execWithDeadline` with the job's spec:
 * same argv, timeout, env and signal), so every wrapper a backend adds for a killable command costs the same here.
 * The container is made before and destroyed after; neither is timed.
 */
export async function measureBareExec(
  factory: ContainerFactory<RunnableContainer>,
  { samples, signal }: { samples: number; signal: AbortSignal },
): Promise<BareExecResult> {
  const [job] = clockSuite(1).jobs;
  if (job === undefined) throw new Error('the clock suite has no job');
  const container = await factory.createContainer({ signal });
  try {
    const toCommandMs: number[] = [];
    for (let sample = 0; sample < samples; sample++) {
      const calledAt = wallClockMs();
      const ran = await execWithDeadline(container, job, { signal });
      signal.throwIfAborted();
      if (ran.kind !== 'exited') throw new Error(`the bare exec did not run: ${ran.kind === 'error' ? errorMessage(ran.error) : ran.kind}`);
      const ranAt = parseAdjtimexWallMs(ran.exec.stdout);
      if (ran.exec.exitCode !== 0 || ranAt === undefined) {
        throw new Error(`the bare exec printed no clock (exit code ${ran.exec.exitCode}): ${ran.exec.stderr.slice(0, 200)}`);
      }
      toCommandMs.push(ranAt - calledAt);
    }
    return { toCommandMs, firstMs: toCommandMs[0] ?? Number.NaN };
  } finally {
    await container.destroy();
  }
}

/**
 * The first exec into each of `samples` fresh containers, one at a time with nothing else running (each made
 * before and destroyed after, untimed): what a pool job's exec costs on a quiet engine, since every container a
 * pool hands out is fresh. Against the bare exec it shows what a backend's first exec costs extra.
 */
export async function measureFirstExec(
  factory: ContainerFactory<RunnableContainer>,
  { samples, signal }: { samples: number; signal: AbortSignal },
): Promise<number[]> {
  const firstMs: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    firstMs.push((await measureBareExec(factory, { samples: 1, signal })).firstMs);
  }
  return firstMs;
}
