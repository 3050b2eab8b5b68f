import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EngineUnavailableError, errorMessage } from '../../lib/errors.js';
import { resolveBackendSettings, type BackendName, type BackendSettings } from '../backend.js';
import { killRunningCliProcesses } from './cli-process.js';
import { EngineView } from './engine-view.js';
import { defaultNoticeGraceMs, fullScale, poolIdFactory, shortScale, type FaultContext, type FaultScale } from './fault-context.js';
import { isClean, lostFigures, type ScenarioOutcome } from './fault-figures.js';
import { scenarios, type Scenario } from './scenarios/index.js';

export interface FaultRunOptions {
  readonly backend: BackendName;
  /** The small version `npm test` runs: each fault once or twice. */
  readonly short?: boolean;
  /** Scenario ids to run; all when absent. */
  readonly only?: readonly string[];
  readonly noticeGraceMs?: number;
  readonly signal?: AbortSignal;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Goes into every pool id (`flt-<b>-<runId>-<scenario>`), so a caller can find what the run made. @default random */
  readonly runId?: string;
  /** Engine settings; default: the engines the fixtures set up (`.engines/engines.env`, overridable by env). */
  readonly settings?: BackendSettings;
}

/** One backend's run of the suite: its scenarios' outcomes and what they were run on. */
export interface BackendFaultReport {
  readonly backend: BackendName;
  readonly short: boolean;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly scale: FaultScale;
  readonly noticeGraceMs: number;
  readonly machine: { readonly cores: number; readonly node: string; readonly kernel: string; readonly loadAverageAtStart: number[]; readonly loadAverageAtEnd: number[] };
  readonly scenarios: readonly ScenarioOutcome[];
  /** Sum of every scenario's lost figures: 0 is the goal. */
  readonly lost: number;
  readonly clean: boolean;
}

/** Fails fast, before anything is injected, when the engine the scenarios need is not there. */
async function checkEngine(settings: BackendSettings): Promise<void> {
  try {
    await new EngineView({ ...settings, poolId: 'faults-check' }).containersOf('faults-check');
  } catch (error) {
    throw new EngineUnavailableError(`The ${settings.backend} engine cannot be used for the fault suite: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * Runs the chosen scenarios one after the other on one backend. A scenario that throws is recorded as such (and
 * counts as lost); whatever it left on the engine is counted and reaped; the next one runs regardless.
 * @throws EngineUnavailableError when the engine cannot be reached at all.
 */
export async function runFaults(options: FaultRunOptions): Promise<BackendFaultReport> {
  const short = options.short ?? false;
  const scale = short ? shortScale : fullScale;
  const settings = options.settings ?? resolveBackendSettings({ backend: options.backend, poolId: 'faults' });
  const signal = options.signal ?? new AbortController().signal;
  const log = options.log ?? (() => undefined);
  const chosen = options.only === undefined ? scenarios : scenarios.filter((scenario) => options.only?.includes(scenario.id));
  await checkEngine(settings);
  const startedAt = new Date();
  const started = performance.now();
  const loadAverageAtStart = loadavg();
  const workDir = await mkdtemp(join(tmpdir(), 'warmpool-faults-'));
  const newPoolId = poolIdFactory(options.backend, options.runId);
  const outcomes: ScenarioOutcome[] = [];
  try {
    for (const scenario of chosen) {
      if (signal.aborted) break;
      log(`${options.backend}: ${scenario.id}...`);
      const outcome = await runOne(scenario, {
        backend: options.backend,
        settings,
        scale,
        short,
        noticeGraceMs: options.noticeGraceMs ?? defaultNoticeGraceMs,
        workDir,
        signal,
        log: (line) => log(`${options.backend}: ${line}`),
        poolId: newPoolId,
      });
      outcomes.push(outcome);
      const lost = Object.entries(lostFigures(outcome)).filter(([, value]) => value > 0);
      log(`${options.backend}: ${scenario.id}: ${lost.length === 0 ? 'nothing lost' : `LOST ${lost.map(([name, value]) => `${name}=${value}`).join(' ')}`} (${(outcome.durationMs / 1000).toFixed(1)} s)`);
    }
  } finally {
    await killRunningCliProcesses();
    await rm(workDir, { recursive: true, force: true });
  }
  return {
    backend: options.backend,
    short,
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
    scale,
    noticeGraceMs: options.noticeGraceMs ?? defaultNoticeGraceMs,
    machine: { cores: cpus().length, node: process.version, kernel: release(), loadAverageAtStart, loadAverageAtEnd: loadavg() },
    scenarios: outcomes,
    lost: outcomes.reduce((sum, outcome) => sum + Object.values(lostFigures(outcome)).reduce((a, b) => a + b, 0), 0),
    clean: outcomes.every(isClean),
  };
}

/**
 * One scenario, never throwing: a crash becomes an outcome with `error`, and the containers of the pools it
 * made are counted as left (then reaped), so a crashed scenario cannot hide a leak.
 */
export async function runOne(scenario: Scenario, context: FaultContext): Promise<ScenarioOutcome> {
  const started = performance.now();
  const poolIds: string[] = [];
  const tracked: FaultContext = {
    ...context,
    poolId: (purpose) => {
      const id = context.poolId(purpose);
      poolIds.push(id);
      return id;
    },
  };
  try {
    const outcome = await scenario.run(tracked);
    return { ...outcome, notes: outcome.notes.map(oneLine) };
  } catch (error) {
    await killRunningCliProcesses();
    const view = new EngineView(context.settings);
    let left = 0;
    const notes: string[] = [];
    for (const poolId of poolIds) {
      const counted = await view.countLeftAndReap(poolId).catch(() => ({ left: 0, names: [] as string[] }));
      left += counted.left;
      if (counted.left > 0) notes.push(`left on the engine: ${counted.names.join(', ')}`);
    }
    return {
      scenario: scenario.id,
      title: scenario.id,
      backend: context.backend,
      faultsInjected: 0,
      jobsRun: 0,
      jobsWithoutResult: 0,
      jobsFailedByInfrastructure: 0,
      deadContainersHandedOut: null,
      containersLeft: left,
      serviceRequests: null,
      durationMs: Math.round(performance.now() - started),
      notes,
      details: { poolIds },
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
}

/** Notes are table lines: an engine's multi-line error message is folded into one, and long ones are cut. */
function oneLine(note: string): string {
  const folded = note.replace(/\s*\n\s*/g, ' | ').trim();
  return folded.length > 300 ? `${folded.slice(0, 299)}…` : folded;
}
