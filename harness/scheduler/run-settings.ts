import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { validatePoolId } from '../../lib/backends/owner.js';
import { isBackendName, type BackendName } from '../backend.js';
import { UsageError } from '../usage-error.js';
import type { JournaledSettings } from './journal.js';
import { defaultCheckoutTimeoutMs } from './scheduler.js';

/**
 * Jobs at once when `--concurrency` is not given: one per core the process may use. Test jobs are mostly
 * CPU-bound (a language runtime's regression tests, a compiler), so more than the cores only makes each job slower
 * and the engine's own work (creating, starting, removing containers) compete with them; fewer leaves cores idle.
 */
export const defaultConcurrency = Math.max(1, availableParallelism());
export const defaultOutDir = 'results';
export const defaultPoolId = 'run';

/** The flags as given: undefined when absent, so `--resume` can fill them from the journaled run. */
export interface RunArguments {
  readonly suiteFile: string | undefined;
  readonly resume: string | undefined;
  readonly backend: BackendName | undefined;
  readonly size: number | undefined;
  readonly concurrency: number | undefined;
  readonly outDir: string | undefined;
  readonly socket: string | undefined;
  readonly dockerSocket: string | undefined;
  readonly poolId: string | undefined;
  readonly checkoutTimeoutMs: number | undefined;
  readonly config: string | undefined;
}

/** What `warmpool run` uses: the flags, else the journaled run's settings (with `--resume`), else the defaults. */
export interface RunSettings {
  readonly suiteFile: string;
  readonly resume: boolean;
  readonly backend: BackendName;
  readonly size: number | undefined;
  readonly concurrency: number;
  readonly outDir: string;
  readonly socket: string | undefined;
  readonly dockerSocket: string | undefined;
  readonly poolId: string;
  readonly checkoutTimeoutMs: number;
  /** A host config file (lab.json): the in-process pools are its kinds, instead of one pool made from the flags. */
  readonly config: string | undefined;
}

/**
 * Fills what the flags left open. With `--resume`, from the journaled run: a resume with no flags continues on
 * the same backend and pool id (so it reaps what the killed run left), the same config file, or the same service.
 */
export function resolveRunSettings(args: RunArguments, journal?: { readonly suiteFile: string; readonly settings: JournaledSettings }): RunSettings {
  const before = journal?.settings;
  // A flag choosing where containers come from (a pool made from flags, a config, a service) overrides the
  // journaled choice.
  const choseInProcess = args.backend !== undefined || args.size !== undefined || args.poolId !== undefined;
  const socket = args.socket ?? (choseInProcess || args.config !== undefined ? undefined : before?.socket);
  const config = args.config ?? (choseInProcess || args.socket !== undefined ? undefined : before?.config);
  const journaledBackend = before?.backend;
  const journaledPoolId = before?.poolId;
  const settings: RunSettings = {
    suiteFile: args.suiteFile ?? journal?.suiteFile ?? '',
    resume: args.resume !== undefined,
    backend: args.backend ?? (isBackendName(journaledBackend) ? journaledBackend : 'docker'),
    size: args.size ?? (socket === undefined && config === undefined ? before?.size : undefined),
    concurrency: args.concurrency ?? before?.concurrency ?? defaultConcurrency,
    outDir: args.resume ?? args.outDir ?? defaultOutDir,
    socket,
    dockerSocket: args.dockerSocket ?? (socket === undefined ? undefined : before?.dockerSocket),
    poolId: args.poolId ?? (journaledPoolId === undefined ? defaultPoolId : validatePoolId(journaledPoolId)),
    checkoutTimeoutMs: args.checkoutTimeoutMs ?? before?.checkoutTimeoutMs ?? defaultCheckoutTimeoutMs,
    config,
  };
  if (settings.suiteFile === '') throw new UsageError('give the suite file to run');
  return settings;
}

export function journaledSettings(settings: RunSettings, poolSize: number | undefined): JournaledSettings {
  if (settings.socket !== undefined) {
    return {
      socket: resolve(settings.socket),
      ...(settings.dockerSocket === undefined ? {} : { dockerSocket: settings.dockerSocket }),
      concurrency: settings.concurrency,
      checkoutTimeoutMs: settings.checkoutTimeoutMs,
    };
  }
  if (settings.config !== undefined) {
    return { config: resolve(settings.config), concurrency: settings.concurrency, checkoutTimeoutMs: settings.checkoutTimeoutMs };
  }
  return {
    backend: settings.backend,
    poolId: settings.poolId,
    ...(poolSize === undefined ? {} : { size: poolSize }),
    concurrency: settings.concurrency,
    checkoutTimeoutMs: settings.checkoutTimeoutMs,
  };
}
