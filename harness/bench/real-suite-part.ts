import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerFactory } from '../../lib/backends/docker/index.js';
import type { Measured, Run } from './bench-parts.js';
import { suiteCommand, suiteEnv, suiteJobTimeoutMs, suitePath, defaultSuiteImage, type CommandRun } from './real-suite-command.js';
import { dockerRunRm } from './real-suite-docker-run.js';
import { realSuiteFigures, realSuiteNotes } from './real-suite-figures.js';
import { hostRun } from './real-suite-host-run.js';
import { checkSuiteImage } from './real-suite-image.js';
import { realSuiteModules } from './real-suite-modules.js';
import type { ModeRun, SuiteMode } from './real-suite-outcome.js';
import { runPoolMode, type PoolModeRun } from './real-suite-pool.js';
import { runQueued } from './real-suite-queue.js';

/**
 * Part 8: CPython's own regression tests, one module per job, run in the same bench run three ways at each
 * concurrency: `warmpool run` (the scheduler with a pool), a new container per job as `docker run --rm` makes
 * it, and plain processes on the host. Docker only for now.
 */
export async function realSuitePart(run: Run): Promise<Measured> {
  if (run.options.backend !== 'docker') throw new Error('the real-suite part is docker only for now');
  const { signal, progress } = run.context;
  const image = process.env['WARMPOOL_PYSUITE_IMAGE'] ?? defaultSuiteImage;
  // The bench's pool id, so the bench's final reap also finds whatever this part could not remove.
  const poolId = run.settings.poolId;
  const factory = new DockerFactory({ docker: run.settings.dockerSocket, poolId, image });
  const { docker } = factory;
  const packages = await checkSuiteImage(docker, image);
  const modules = realSuiteModules.slice(0, run.options.suiteModules);
  // Host jobs get a directory of their own as TMPDIR and working directory, removed at the end.
  const hostDir = await mkdtemp(join(tmpdir(), 'warmpool-bench-suite-host-'));
  const hostEnv = { PATH: suitePath, HOME: homedir(), TMPDIR: hostDir, ...suiteEnv };

  const onHost = (module: string, jobSignal: AbortSignal): Promise<CommandRun> =>
    hostRun({ command: suiteCommand(module), env: hostEnv, cwd: hostDir, timeoutMs: suiteJobTimeoutMs, signal: jobSignal });
  const inNewContainer = (module: string, jobSignal: AbortSignal): Promise<CommandRun> =>
    dockerRunRm({ docker, image, poolId, command: suiteCommand(module), env: suiteEnv, timeoutMs: suiteJobTimeoutMs, signal: jobSignal });
  const measure = (mode: SuiteMode, concurrency: number): Promise<ModeRun | PoolModeRun> => {
    if (mode === 'pool') return runPoolMode(factory, { modules, concurrency, workers: run.options.workers, signal });
    return runQueued(mode, modules, concurrency, mode === 'perJob' ? inNewContainer : onHost, signal);
  };

  const runs: (ModeRun | PoolModeRun)[] = [];
  try {
    // Unmeasured: loads the interpreter, regrtest and the image's layer into the page cache for every mode.
    const warmUp = modules[0] ?? 'test_bool';
    progress(`  warm-up: ${warmUp} once on the host and once in a new container`);
    await onHost(warmUp, signal);
    await inNewContainer(warmUp, signal);
    for (const [index, concurrency] of run.options.suiteConcurrency.entries()) {
      for (const mode of modeOrder(index)) {
        progress(`  ${mode} at ${concurrency} at once, ${modules.length} modules`);
        const measured = await measure(mode, concurrency);
        progress(`    ${(measured.wallMs / 1000).toFixed(1)} s, ${measured.jobs.filter((job) => job.status !== 'passed').length} not passed`);
        runs.push(measured);
      }
    }
  } finally {
    await rm(hostDir, { recursive: true, force: true });
  }
  return {
    figures: realSuiteFigures(runs),
    notes: realSuiteNotes(runs, { image, packages, modules, workers: run.options.workers, orders: run.options.suiteConcurrency.map((_, index) => modeOrder(index)) }),
  };
}

/**
 * The host runs first at every concurrency: it touches no engine, so nothing the containers leave behind
 * (dockerd finishing removals) slows it. The two container modes swap places from one concurrency to the next,
 * so neither always runs right after the other.
 */
function modeOrder(index: number): SuiteMode[] {
  return index % 2 === 0 ? ['noContainer', 'pool', 'perJob'] : ['noContainer', 'perJob', 'pool'];
}
