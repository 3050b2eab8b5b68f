import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../../lib/errors.js';
import type { FaultContext } from '../fault-context.js';
import type { ScenarioOutcome } from '../fault-figures.js';
import { hardStopOf } from '../kill-methods.js';
import { runLoopScenario } from '../loop-scenario.js';

/**
 * LXC has no engine process to restart; what a host or engine restart does to a pool is stop every one of its
 * containers at once, the ready ones and those jobs run in. Jobs under way die (an infrastructure failure, retried);
 * no job may be handed a stopped container once the pool has had its grace to notice.
 */
export function lxcStopAll(context: FaultContext): Promise<ScenarioOutcome> {
  return runLoopScenario(context, {
    scenario: 'engine-restart',
    title: 'every container of the pool stopped at once (LXC engine restart)',
    fillFirst: false,
    // Long enough that the stop hits jobs while they run, as a real restart would.
    jobMs: 1500,
    async inject({ round, view, poolId, faults, notes }) {
      const stop = hardStopOf(view);
      const targets = (await view.containersOf(poolId)).filter((container) => container.running);
      const startedAt = performance.now();
      await Promise.all(
        targets.map((container) =>
          stop.kill(view, container).catch((error: unknown) => notes.push(`${stop.name} ${container.name}: ${errorMessage(error)}`)),
        ),
      );
      const endedAt = performance.now();
      for (const container of targets) faults.record(container.id, { method: stop.name, startedAt, endedAt });
      notes.push(`round ${round + 1}: stopped ${targets.length} containers at once`);
      return 1;
    },
  });
}
