import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../../lib/errors.js';
import type { FaultContext } from '../fault-context.js';
import type { ScenarioOutcome } from '../fault-figures.js';
import { killMethodsOf } from '../kill-methods.js';
import { runLoopScenario } from '../loop-scenario.js';

/**
 * Ready containers killed behind the pool's back during a suite of jobs (Docker: kill, rm -f; LXC: lxc-stop -k,
 * lxc-destroy, kill -9 of init), each method in turn. Only containers the pool holds ready are hit, never one a
 * job runs in: the question is whether the pool hands the dead ones out.
 */
export function pooledKill(context: FaultContext): Promise<ScenarioOutcome> {
  let next = 0;
  return runLoopScenario(context, {
    scenario: 'pooled-kill',
    title: 'pooled containers killed behind the pool\'s back',
    async inject({ view, poolId, loop, faults, notes }) {
      const methods = killMethodsOf(view);
      const targets = (await view.containersOf(poolId)).filter((container) => container.running && !loop.held.has(container.id));
      await Promise.all(
        targets.map(async (container) => {
          const method = methods[next++ % methods.length];
          if (method === undefined) return;
          const startedAt = performance.now();
          try {
            await method.kill(view, container);
          } catch (error) {
            notes.push(`${method.name} ${container.name}: ${errorMessage(error)}`);
          }
          faults.record(container.id, { method: method.name, startedAt, endedAt: performance.now() });
        }),
      );
      return targets.length;
    },
  });
}
