/**
 * A demand trace: how a lab's checkouts come and go over time, as phases of Poisson arrivals (a quiet day, a
 * ramp, a nightly burst, quiet again). The demand part replays one on the real engine against several pool
 * strategies; the same seed gives every strategy the very same arrivals.
 */
import { readFileSync } from 'node:fs';
import { errorMessage } from '../../lib/errors.js';
import { UsageError } from '../usage-error.js';
import { poissonArrivals } from './arrivals.js';

export interface DemandPhase {
  /** For the notes and errors only. */
  readonly name: string;
  /** Milliseconds, an integer above 0. */
  readonly durationMs: number;
  /** Mean arrivals per second in this phase (λ), from 0 up. */
  readonly checkoutsPerSecond: number;
  /** How long each checkout of this phase keeps its container before giving it back, ms from 0 up. */
  readonly holdMs: number;
}

export interface DemandTrace {
  readonly description: string;
  /** Seeds the arrivals: phase i draws its gaps from seed + i. */
  readonly seed: number;
  /**
   * The creation time (ms) the rates and holds are written for, when they are: see `scaleTraceToEngine`. A trace
   * without it is replayed as written on every engine.
   */
  readonly referenceCreationMs?: number;
  readonly phases: readonly DemandPhase[];
}

/** One checkout of a replay: when it comes (ms after the trace starts) and how long it holds its container. */
export interface DemandArrival {
  readonly atMs: number;
  readonly holdMs: number;
  /** Index into the trace's phases. */
  readonly phase: number;
}

/** One problem with a trace file: where (a key path like `phases[2].holdMs`, empty for the whole file) and what. */
export interface DemandTraceIssue {
  readonly path: string;
  readonly message: string;
}

/** A trace file that cannot be used; one line per issue, each naming the file, the key path and the value. */
export class DemandTraceError extends UsageError {
  readonly code = 'ERR_WARMPOOL_DEMAND_TRACE';

  constructor(
    readonly file: string,
    readonly issues: readonly DemandTraceIssue[],
  ) {
    super(issues.map((issue) => `${file}: ${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`).join('\n'));
  }
}

const phaseKeys = new Set(['name', 'durationMs', 'checkoutsPerSecond', 'holdMs']);
const traceKeys = new Set(['description', 'seed', 'referenceCreationMs', 'phases']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function got(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON would print Infinity and NaN as null.
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

function checkPhase(value: unknown, path: string, issues: DemandTraceIssue[]): DemandPhase | undefined {
  if (!isRecord(value)) {
    issues.push({ path, message: `expected an object with durationMs, checkoutsPerSecond and holdMs, got ${got(value)}` });
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!phaseKeys.has(key)) issues.push({ path: `${path}.${key}`, message: `not a phase key (expected ${[...phaseKeys].join(', ')})` });
  }
  const { name = '', durationMs, checkoutsPerSecond, holdMs } = value;
  const before = issues.length;
  if (typeof name !== 'string') issues.push({ path: `${path}.name`, message: `expected a string, got ${got(name)}` });
  if (!(Number.isSafeInteger(durationMs) && (durationMs as number) > 0)) {
    issues.push({ path: `${path}.durationMs`, message: `expected an integer number of milliseconds above 0, got ${got(durationMs)}` });
  }
  if (!(typeof checkoutsPerSecond === 'number' && Number.isFinite(checkoutsPerSecond) && checkoutsPerSecond >= 0)) {
    issues.push({ path: `${path}.checkoutsPerSecond`, message: `expected a finite number from 0 up, got ${got(checkoutsPerSecond)}` });
  }
  if (!(typeof holdMs === 'number' && Number.isFinite(holdMs) && holdMs >= 0)) {
    issues.push({ path: `${path}.holdMs`, message: `expected a finite number of milliseconds from 0 up, got ${got(holdMs)}` });
  }
  if (issues.length > before) return undefined;
  return { name: name as string, durationMs: durationMs as number, checkoutsPerSecond: checkoutsPerSecond as number, holdMs: holdMs as number };
}

/**
 * Checks a parsed trace (`source` names it in errors). Every problem is reported at once, each with its key path.
 * @throws DemandTraceError
 */
export function parseDemandTrace(value: unknown, source: string): DemandTrace {
  const issues: DemandTraceIssue[] = [];
  if (!isRecord(value)) throw new DemandTraceError(source, [{ path: '', message: `expected an object with seed and phases, got ${got(value)}` }]);
  for (const key of Object.keys(value)) {
    if (!traceKeys.has(key)) issues.push({ path: key, message: `not a trace key (expected ${[...traceKeys].join(', ')})` });
  }
  const { description = '', seed, referenceCreationMs, phases } = value;
  if (typeof description !== 'string') issues.push({ path: 'description', message: `expected a string, got ${got(description)}` });
  if (!Number.isSafeInteger(seed)) issues.push({ path: 'seed', message: `expected an integer, got ${got(seed)}` });
  if (referenceCreationMs !== undefined && !(typeof referenceCreationMs === 'number' && Number.isFinite(referenceCreationMs) && referenceCreationMs > 0)) {
    issues.push({ path: 'referenceCreationMs', message: `expected a finite number of milliseconds above 0, got ${got(referenceCreationMs)}` });
  }
  const checked: DemandPhase[] = [];
  if (!Array.isArray(phases) || phases.length === 0) {
    issues.push({ path: 'phases', message: `expected a non-empty array of phases, got ${got(phases)}` });
  } else {
    phases.forEach((phase: unknown, index) => {
      const parsed = checkPhase(phase, `phases[${index}]`, issues);
      if (parsed) checked.push(parsed);
    });
    if (issues.length === 0 && checked.every((phase) => phaseCheckouts(phase) === 0)) {
      issues.push({ path: 'phases', message: 'expected at least one checkout: every phase has checkoutsPerSecond × durationMs below half a checkout' });
    }
  }
  if (issues.length > 0) throw new DemandTraceError(source, issues);
  return {
    description: description as string,
    seed: seed as number,
    ...(referenceCreationMs === undefined ? {} : { referenceCreationMs: referenceCreationMs as number }),
    phases: checked,
  };
}

/** Reads and checks the trace file at `path`; errors name it as given. @throws DemandTraceError */
export function loadDemandTrace(path: string): DemandTrace {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DemandTraceError(path, [{ path: '', message: `cannot read the file: ${errorMessage(error)}` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DemandTraceError(path, [{ path: '', message: `not valid JSON: ${errorMessage(error)}` }]);
  }
  return parseDemandTrace(value, path);
}

/**
 * The trace as the engine at hand should see it, and the factor applied. What a pool must hold for a demand is
 * its load, the arrival rate times the creation time (λW, Little's law): the same trace asks for 5 containers
 * where a creation takes 400 ms and for 1 or 2 where it takes 100 ms, and then every strategy keeps about the
 * same stock and the replay compares nothing. So a trace that says which creation time it is written for has
 * its rates multiplied, and its holds divided, by `referenceCreationMs / creationMs`: the same load and the same
 * containers held at once, on any engine. Phase lengths stay as written, so a replay lasts as long everywhere.
 */
export function scaleTraceToEngine(trace: DemandTrace, creationMs: number): { trace: DemandTrace; factor: number } {
  if (trace.referenceCreationMs === undefined) return { trace, factor: 1 };
  if (!(Number.isFinite(creationMs) && creationMs > 0)) throw new RangeError(`creation time must be a finite number of ms above 0, got ${creationMs}`);
  const factor = trace.referenceCreationMs / creationMs;
  const phases = trace.phases.map((phase) => ({ ...phase, checkoutsPerSecond: phase.checkoutsPerSecond * factor, holdMs: phase.holdMs / factor }));
  return { trace: { ...trace, phases }, factor };
}

/** The trace's length in ms: its phases end to end. */
export function traceDurationMs(trace: DemandTrace): number {
  return trace.phases.reduce((sum, phase) => sum + phase.durationMs, 0);
}

/** The rates a fixed pool would be sized for: the busiest phase's, and the mean over the whole trace (its checkouts over its length). */
export function traceRates(trace: DemandTrace): { peakPerSecond: number; meanPerSecond: number; expectedCheckouts: number } {
  const expectedCheckouts = trace.phases.reduce((sum, phase) => sum + phaseCheckouts(phase), 0);
  return {
    peakPerSecond: Math.max(...trace.phases.map((phase) => phase.checkoutsPerSecond)),
    meanPerSecond: (expectedCheckouts * 1000) / traceDurationMs(trace),
    expectedCheckouts,
  };
}

/** The checkouts a phase offers: its rate times its length, rounded. */
export function phaseCheckouts(phase: DemandPhase): number {
  return Math.round((phase.checkoutsPerSecond * phase.durationMs) / 1000);
}

/**
 * Every checkout of the trace, in time order. Each phase offers exactly its rate (`phaseCheckouts`): a Poisson
 * process (seed + phase index) conditioned on its next arrival falling at the phase's end, so its arrivals bunch
 * and gap as Poisson ones do, but a short phase does not offer a third more or less than its rate by chance, and
 * the sizes derived from the rates are those of the arrivals replayed. Independent draws per phase, so changing
 * one phase leaves the arrivals of the others as they were.
 */
export function traceArrivals(trace: DemandTrace): DemandArrival[] {
  const arrivals: DemandArrival[] = [];
  let startMs = 0;
  trace.phases.forEach((phase, index) => {
    const count = phaseCheckouts(phase);
    if (count > 0) {
      const drawn = poissonArrivals({ ratePerSecond: phase.checkoutsPerSecond, seed: trace.seed + index, count: count + 1 });
      const scale = phase.durationMs / (drawn.at(-1) ?? phase.durationMs);
      for (const offsetMs of drawn.slice(0, count)) arrivals.push({ atMs: startMs + offsetMs * scale, holdMs: phase.holdMs, phase: index });
    }
    startMs += phase.durationMs;
  });
  return arrivals;
}
