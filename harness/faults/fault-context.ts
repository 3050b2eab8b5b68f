import { randomSuffix } from '../../lib/backends/owner.js';
import type { BackendName, BackendSettings } from '../backend.js';

/** How hard each scenario pushes: `short` (npm test) injects each fault once or twice on small suites. */
export interface FaultScale {
  /** Rounds of injection per scenario. */
  readonly rounds: number;
  /** Jobs in each job loop or suite. */
  readonly jobs: number;
  /** Containers the pools keep ready. */
  readonly poolSize: number;
  /** Jobs at once. */
  readonly concurrency: number;
  /** How long the Docker fault engine stays down per restart (after it has stopped). */
  readonly outageMs: number;
  /** Normal-client rounds against the service after its faults. */
  readonly clientRounds: number;
  /** Bad clients of each kind, and connections opened beyond the service's cap. */
  readonly badClients: number;
  readonly extraConnections: number;
  /** Waiting gets one greedy client sends at once. */
  readonly floodGets: number;
  /** How long a job waits for a container before it counts as without a result. */
  readonly checkoutTimeoutMs: number;
}

export const shortScale: FaultScale = {
  rounds: 1,
  jobs: 8,
  poolSize: 3,
  concurrency: 2,
  outageMs: 2000,
  clientRounds: 3,
  badClients: 2,
  extraConnections: 40,
  floodGets: 300,
  checkoutTimeoutMs: 20_000,
};

export const fullScale: FaultScale = {
  rounds: 3,
  jobs: 30,
  poolSize: 3,
  concurrency: 2,
  outageMs: 6000,
  clientRounds: 10,
  badClients: 5,
  extraConnections: 200,
  floodGets: 5000,
  checkoutTimeoutMs: 60_000,
};

/**
 * A death the pool must have noticed before a checkout that comes this much later: the issue asks for 1 s; twice
 * that leaves room for a loaded 2-core machine without letting a pool that never notices pass.
 */
export const defaultNoticeGraceMs = 2000;

/** Everything a scenario runs with. */
export interface FaultContext {
  readonly backend: BackendName;
  readonly settings: BackendSettings;
  readonly scale: FaultScale;
  readonly short: boolean;
  readonly noticeGraceMs: number;
  /** A scratch directory of the run (sockets, suites, results); removed afterwards. */
  readonly workDir: string;
  /** Aborted on Ctrl-C: scenarios stop injecting, clean up and return what they saw. */
  readonly signal: AbortSignal;
  /** One progress line for the user (stderr). */
  log(line: string): void;
  /** A fresh pool id for this run and `purpose`, at most 32 characters, so nothing else's containers are touched. */
  poolId(purpose: string): string;
}

/** The start every pool id of a run shares: `flt-d-1a2b3c-` (backend, run). */
export function poolIdPrefix(backend: BackendName, runId: string): string {
  return `flt-${backend[0] ?? 'x'}-${runId}-`;
}

/** Pool ids like `flt-d-1a2b3c-kill`: backend, run and purpose, so concurrent runs never share one. */
export function poolIdFactory(backend: BackendName, runId = randomSuffix().slice(0, 6)): (purpose: string) => string {
  return (purpose) => `${poolIdPrefix(backend, runId)}${purpose}`.slice(0, 32).replace(/[^a-z0-9_.-]/g, '-');
}
