import type { BackendName } from '../backend.js';

/**
 * What one fault scenario measured. The three "lost" figures (jobs without a result, dead containers handed out,
 * containers left) must all be 0 for the scenario to pass; the others say how hard it was hit.
 */
export interface ScenarioOutcome {
  /** A stable id, e.g. `pooled-kill`. */
  readonly scenario: string;
  readonly title: string;
  readonly backend: BackendName;
  /** Kills, engine stops, SIGKILLs, bad clients, hung creations: each fault counted once. */
  readonly faultsInjected: number;
  /** Jobs (test jobs, or a normal client's get-exec-release rounds) started. */
  readonly jobsRun: number;
  /** LOST: jobs that never got a verdict of their own command (no container in time, `error`, cancelled, missing). */
  readonly jobsWithoutResult: number;
  /** Jobs hit by the infrastructure at least once (an attempt that ended `error`, or died under the job), retried or not. */
  readonly jobsFailedByInfrastructure: number;
  /**
   * LOST: containers handed out dead although the pool had had `noticeGraceMs` to notice the death (see
   * `deadInWindow` in `details` for those handed out sooner). Null where the scenario cannot see hand-outs.
   */
  readonly deadContainersHandedOut: number | null;
  /** LOST: the scenario's containers still on the engine once it cleaned up (counted before the final reap). */
  readonly containersLeft: number;
  /** Service scenarios: a normal client's requests after the faults, and how many were answered. */
  readonly serviceRequests: { readonly sent: number; readonly answered: number } | null;
  readonly durationMs: number;
  /** What happened, in words, for the table. */
  readonly notes: readonly string[];
  /** Scenario-specific figures for the JSON. */
  readonly details: Readonly<Record<string, unknown>>;
  /** Set when the scenario itself could not run to its end (a harness or engine failure): it counts as lost. */
  readonly error?: string;
}

/** The lost figures of one outcome, by name; all must be 0. A scenario that crashed counts as 1 lost. */
export function lostFigures(outcome: ScenarioOutcome): Record<string, number> {
  return {
    jobsWithoutResult: outcome.jobsWithoutResult,
    deadContainersHandedOut: outcome.deadContainersHandedOut ?? 0,
    containersLeft: outcome.containersLeft,
    scenarioError: outcome.error === undefined ? 0 : 1,
  };
}

export function isClean(outcome: ScenarioOutcome): boolean {
  return Object.values(lostFigures(outcome)).every((value) => value === 0);
}

/** The definitions written into the JSON, so a reader of the figures needs no source code. */
export const figureDefinitions: Readonly<Record<string, string>> = {
  faultsInjected: 'faults the scenario injected (each kill, engine stop, SIGKILL, bad client, hung creation counts once)',
  jobsRun: 'jobs started (suite jobs, job-loop jobs, or a normal client\'s get-exec-release rounds)',
  jobsWithoutResult:
    'LOST: jobs whose own command never reached a verdict: no container in time, status error or cancelled, no result on disk',
  jobsFailedByInfrastructure: 'jobs with at least one attempt ended by the infrastructure (retried or not)',
  deadContainersHandedOut:
    'LOST: checkouts that got a container already dead although its death (or the engine\'s return) was at least noticeGraceMs earlier',
  containersLeft: 'LOST: containers of the scenario\'s pool still on the engine after it cleaned up',
  serviceRequests: 'requests a normal client sent to the service after the faults, and how many were answered',
};
