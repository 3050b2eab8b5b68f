import type { TestFn } from 'ava';
import { existsSync } from 'node:fs';
import { randomSuffix } from '../../lib/backends/owner.js';
import { resolveBackendSettings, type BackendName } from '../backend.js';
import { EngineView } from './engine-view.js';
import { poolIdPrefix } from './fault-context.js';
import { runFaults } from './fault-suite.js';
import { scenarioIds } from './scenarios/index.js';

/**
 * In tests the pool gets more time to notice a death than `warmpool faults` gives it: CI machines are small and
 * busy, and a pool that never notices still fails.
 */
const testNoticeGraceMs = 5000;

/**
 * Registers the short fault suite of one backend as ava tests, one serial test per scenario, each asserting the
 * lost figures are 0 (and that its faults were really injected). `after.always` checks that nothing of the run
 * is left on the engine and that the fault dockerd's directory is gone.
 */
export function registerFaultTests(test: TestFn, backend: BackendName): void {
  const runId = randomSuffix().slice(0, 6);
  const settings = resolveBackendSettings({ backend, poolId: 'faults' });
  const engineDirs: string[] = [];
  const controller = new AbortController();

  for (const scenario of scenarioIds) {
    test.serial(`${backend}: ${scenario} loses nothing`, async (t) => {
      const report = await runFaults({
        backend,
        short: true,
        only: [scenario],
        runId,
        settings,
        noticeGraceMs: testNoticeGraceMs,
        signal: controller.signal,
        log: (line) => t.log(line),
      });
      const outcome = report.scenarios[0];
      if (outcome === undefined) return t.fail(`${scenario} did not run`);
      const engineDir = outcome.details['engineDir'];
      if (typeof engineDir === 'string') engineDirs.push(engineDir);
      const context = `${scenario} notes: ${outcome.notes.join(' / ')}`;
      t.is(outcome.error, undefined, `${scenario} failed to run: ${outcome.error ?? ''}`);
      t.true(outcome.faultsInjected > 0, `no fault was injected; ${context}`);
      t.true(outcome.jobsRun > 0, `no job ran; ${context}`);
      t.is(outcome.jobsWithoutResult, 0, `jobs without a result; ${context}`);
      t.is(outcome.deadContainersHandedOut ?? 0, 0, `dead containers handed out; ${context}`);
      t.is(outcome.containersLeft, 0, `containers left on the engine; ${context}`);
      if (outcome.serviceRequests !== null) {
        t.is(outcome.serviceRequests.answered, outcome.serviceRequests.sent, `service requests unanswered; ${context}`);
      }
    });
  }

  test.after.always('nothing of the fault run is left', async (t) => {
    controller.abort();
    const left = await new EngineView(settings).namesWithPoolPrefix(poolIdPrefix(backend, runId));
    t.deepEqual(left, [], 'containers of the fault run are still on the engine');
    for (const dir of engineDirs) t.false(existsSync(dir), `the fault dockerd's directory ${dir} is still there`);
  });
}
