import Dockerode from 'dockerode';
import { backendSettingsOf } from '../service/run-service.js';
import type { CheckResult, DoctorContext } from './check.js';
import { checksFor } from './doctor-checks.js';
import type { DoctorOptions } from './doctor-options.js';
import { doctorReport, type DoctorReport } from './doctor-report.js';
import { runChecks } from './run-checks.js';

/** One engine call or a few file reads: a check that takes longer than this has found a stuck engine. */
const checkTimeoutMs = 15_000;
/** Time a check gets after its deadline to remove what it made. */
const cleanupGraceMs = 30_000;

export interface RunDoctorOptions {
  /** Aborting it (Ctrl-C) stops the running check (which removes its trial container) and skips the rest. */
  readonly signal?: AbortSignal;
  readonly onResult?: (result: CheckResult) => void;
  /** @default this process's uid */
  readonly uid?: number;
}

/** Runs every check of the configured backend; never throws for what it finds. */
export async function runDoctor(options: DoctorOptions, run: RunDoctorOptions = {}): Promise<DoctorReport> {
  const settings = backendSettingsOf(options.config);
  const context: DoctorContext = {
    settings,
    socketPath: options.config.socket,
    containerTimeoutMs: options.containerTimeoutMs,
    docker: new Dockerode({ socketPath: settings.dockerSocket }),
    uid: run.uid ?? process.getuid?.() ?? 0,
  };
  const results = await runChecks(checksFor(settings.backend), context, {
    defaultTimeoutMs: checkTimeoutMs,
    cleanupGraceMs,
    ...(run.signal === undefined ? {} : { signal: run.signal }),
    ...(run.onResult === undefined ? {} : { onResult: run.onResult }),
  });
  return doctorReport(results);
}
