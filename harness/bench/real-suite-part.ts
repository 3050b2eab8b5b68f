import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Measured, Run } from './bench-parts.js';
import { cpuTimes } from './machine.js';
import { openSuiteBackend } from './real-suite-backend.js';
import { suiteCommand, suiteEnv, suiteJobTimeoutMs, suitePath, type CommandRun } from './real-suite-command.js';
import { realSuiteFigures, realSuiteNotes } from './real-suite-figures.js';
import { hostRun } from './real-suite-host-run.js';
import { realSuiteModules } from './real-suite-modules.js';
import type { ModeRun, SuiteMode } from './real-suite-outcome.js';
import { runPoolMode, type PoolModeRun } from './real-suite-pool.js';
import { runQueued } from './real-suite-queue.js';

/**
 * Part 8: CPython's own regression tests, one module per job, run in the same bench run three ways at each
 * concurrency: `warmpool run` (the scheduler with a pool), a new container per job (`docker run --rm`, or an
 * LXC clone made and destroyed per job), and plain processes on the host.
 */
export async function realSuitePart(run: Run): Promise<Measured> {
  const { signal, progress } = run.context;
  const backend = await openSuiteBackend(run.settings);
  const modules = realSuiteModules.slice(0, run.options.suiteModules);
  // Host jobs get a directory of their own as TMPDIR and working directory, removed at the end.
  const hostDir = await mkdtemp(join(tmpdir(), 'warmpool-bench-suite-host-'));
  const hostEnv = { PATH: suitePath, HOME: homedir(), TMPDIR: hostDir, ...suiteEnv };

  const onHost = (module: string, jobSignal: AbortSignal): Promise<CommandRun> =>
    hostRun({ command: suiteCommand(module), env: hostEnv, cwd: hostDir, timeoutMs: suiteJobTimeoutMs, signal: jobSignal });
  const runners: Partial<Record<SuiteMode, (module: string, jobSignal: AbortSignal) => Promise<CommandRun>>> = {
    perJob: backend.runInNewContainer,
    perJobLoopback: backend.runInNewLoopbackContainer,
    noContainer: onHost,
  };
  const measure = (mode: SuiteMode, concurrency: number): Promise<ModeRun | PoolModeRun> => {
    if (mode === 'pool') return runPoolMode(backend.poolFactory, { modules, concurrency, workers: run.options.workers, signal });
    const runner = runners[mode];
    if (runner === undefined) throw new Error(`no ${mode} way on this engine`);
    return runQueued(mode, modules, concurrency, runner, signal);
  };
  const containerModes: SuiteMode[] = ['pool', 'perJob', ...(backend.runInNewLoopbackContainer === undefined ? [] : ['perJobLoopback' as const])];

  const runs: (ModeRun | PoolModeRun)[] = [];
  try {
    // Unmeasured: loads the interpreter, regrtest and the image's layer into the page cache for every mode.
    const warmUp = modules[0] ?? 'test_bool';
    progress(`  warm-up: ${warmUp} once on the host and once in a new container`);
    await onHost(warmUp, signal);
    await backend.runInNewContainer(warmUp, signal);
    for (const [index, concurrency] of run.options.suiteConcurrency.entries()) {
      for (const mode of modeOrder(index, containerModes)) {
        progress(`  ${mode} at ${concurrency} at once, ${modules.length} modules`);
        const before = cpuTimes();
        const measured = await measure(mode, concurrency);
        const machineCpuMs = cpuTimes().busy - before.busy;
        progress(`    ${(measured.wallMs / 1000).toFixed(1)} s, ${measured.jobs.filter((job) => job.status !== 'passed').length} not passed`);
        runs.push({ ...measured, machineCpuMs });
      }
    }
  } finally {
    await rm(hostDir, { recursive: true, force: true });
  }
  return {
    figures: realSuiteFigures(runs),
    notes: realSuiteNotes(runs, {
      backend,
      modules,
      workers: run.options.workers,
      orders: run.options.suiteConcurrency.map((_, index) => modeOrder(index, containerModes)),
    }),
  };
}

/**
 * The host runs only at the first concurrency (the cores, by default: the one the issue compares it at), and
 * first: it touches no engine, so nothing the containers leave behind (dockerd finishing removals) slows it.
 * At more jobs than cores the host adds nothing the first run did not tell, and would cost the bench half a
 * minute. The container modes run in reverse order from one concurrency to the next, so none always runs right
 * after another.
 */
export function modeOrder(index: number, containerModes: readonly SuiteMode[]): SuiteMode[] {
  const inTurn = index % 2 === 0 ? [...containerModes] : [...containerModes].reverse();
  return index === 0 ? ['noContainer', ...inTurn] : inTurn;
}
