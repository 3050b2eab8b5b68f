import type Dockerode from 'dockerode';
import type { BackendSettings } from '../backend.js';

/**
 * One line of `warmpool doctor`. `warn` does not fail the run (something to look at, not a reason this host gives
 * no containers); `skip` says a check was not tried because one it needs did not pass.
 */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable, for scripts reading `--json`: `engine`, `image`, `container`, `socket`, … */
  readonly id: string;
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do about it: every `fail` has one, a `warn` usually. */
  readonly fix?: string;
}

export type CheckOutcome = Omit<CheckResult, 'id'>;

/** What every check looks at: the settings `warmpool serve` would run with. */
export interface DoctorContext {
  /** The backend and pool under examination, with the engine settings serve would use. */
  readonly settings: BackendSettings;
  /** The socket the pool's service listens on (or would). */
  readonly socketPath: string;
  /** The longest a container may take to start and pass its readiness command. */
  readonly containerTimeoutMs: number;
  /** A client of `settings.dockerSocket`; connects only when a check calls it. */
  readonly docker: Dockerode;
  /** Our uid: the socket directory must be ours, and LXC wants root. */
  readonly uid: number;
}

export interface DoctorCheck {
  readonly id: string;
  /** Checks that must pass (or warn) first; otherwise this one is skipped, saying which. */
  readonly needs?: readonly string[];
  /** Its deadline, when not the doctor's usual one for a single engine call. */
  timeoutMs?(context: DoctorContext): number;
  /**
   * Looks, and resolves with what it saw. May reject: the runner turns that into a `fail` with the reason. Should
   * stop (and undo what it made) when `signal` aborts at its deadline.
   */
  run(context: DoctorContext, signal: AbortSignal): Promise<CheckOutcome>;
}

export function pass(message: string): CheckOutcome {
  return { status: 'pass', message };
}

export function warn(message: string, fix?: string): CheckOutcome {
  return fix === undefined ? { status: 'warn', message } : { status: 'warn', message, fix };
}

export function fail(message: string, fix: string): CheckOutcome {
  return { status: 'fail', message, fix };
}

/** `1.5 GiB`, `200 MiB`: sizes as people read them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
