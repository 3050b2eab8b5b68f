import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../lib/errors.js';
import { PoolClient, type ServiceStatus } from '../client/pool-client.js';
import type { BackendSettings } from '../backend.js';
import { spawnCli, waitForExit, type CliProcess } from './cli-process.js';
import { withDeadline } from './deadline.js';
import type { EngineView } from './engine-view.js';
import type { ScenarioOutcome } from './fault-figures.js';

export interface ServeOptions {
  readonly socketPath: string;
  readonly size: number;
  readonly extraArgs?: readonly string[];
}

/** The flags that put a `warmpool serve` child on exactly the engine the suite watches. */
export function engineFlags(settings: BackendSettings): string[] {
  return settings.backend === 'docker'
    ? ['--docker-socket', settings.dockerSocket, '--docker-image', settings.dockerImage]
    : ['--lxc-path', settings.lxcPath, '--lxc-base', settings.lxcBase];
}

/**
 * Starts `warmpool serve` for `settings.poolId` and waits for its "listening" line. Rejects (after SIGKILLing
 * it) if it does not listen within a minute.
 */
export async function startServe(settings: BackendSettings, options: ServeOptions): Promise<CliProcess> {
  const child = spawnCli([
    'serve',
    '--backend',
    settings.backend,
    '--pool-id',
    settings.poolId,
    '--socket',
    options.socketPath,
    '--size',
    String(options.size),
    '--workers',
    String(options.size),
    '--log-level',
    'warn',
    ...engineFlags(settings),
    ...(options.extraArgs ?? []),
  ]);
  const listening = await child.waitForLine((line) => line.includes(`"socket":${JSON.stringify(options.socketPath)}`), 60_000);
  if (listening === undefined) {
    child.kill('SIGKILL');
    const { code, signal } = await child.exited;
    throw new Error(`warmpool serve did not listen within 60 s (exit ${code ?? signal}); stderr: ${child.stderr().slice(-600)}`);
  }
  return child;
}

/** SIGTERM, then up to 30 s for the clean shutdown (SIGKILL after). Resolves with how it ended. */
export async function stopServe(child: CliProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
  child.kill('SIGTERM');
  return waitForExit(child, 30_000);
}

/** The service's status, or undefined if it does not answer within 5 s. */
export async function serviceStatus(socketPath: string): Promise<ServiceStatus | undefined> {
  let client: PoolClient | undefined;
  try {
    client = await PoolClient.connect({ socketPath });
    const status = await withDeadline(client.status(), 5000);
    return status === 'timeout' ? undefined : status;
  } catch {
    return undefined;
  } finally {
    await client?.close().catch(() => undefined);
  }
}

/**
 * Until the service reports `ready >= wanted` (a status request every 200 ms: another process's pool has no
 * event this process could wait on). Resolves with the last status, or undefined if it never answered.
 */
export async function untilServiceReady(socketPath: string, wanted: number, timeoutMs: number, signal?: AbortSignal): Promise<ServiceStatus | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: ServiceStatus | undefined;
  while (Date.now() < deadline && !signal?.aborted) {
    last = (await serviceStatus(socketPath)) ?? last;
    if (last !== undefined && last.ready >= wanted) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return last;
}

export interface ClientRounds {
  /** Rounds (jobs) started. */
  readonly jobs: number;
  /** Rounds that did not end with a command run in a container from the service. */
  readonly withoutResult: number;
  readonly requests: { readonly sent: number; readonly answered: number };
  readonly reasons: readonly string[];
}

/**
 * A normal client after the faults: `rounds` times, connect, `status`, `get` (waiting up to `getTimeoutMs`), run
 * a command in the container, release it. Each round is a job; each request to the service is counted, and
 * answered if its answer came (a `get` answered "none in time" is answered but leaves the job without a result).
 */
export async function normalClientRounds(socketPath: string, rounds: number, getTimeoutMs: number, signal?: AbortSignal): Promise<ClientRounds> {
  let sent = 0;
  let answered = 0;
  let withoutResult = 0;
  const reasons = new Set<string>();
  const ask = async <T>(request: Promise<T>, timeoutMs: number): Promise<T | undefined> => {
    sent++;
    const answer = await withDeadline(request, timeoutMs).catch((error: unknown) => {
      reasons.add(errorMessage(error));
      return 'failed' as const;
    });
    if (answer === 'timeout') {
      reasons.add(`no answer within ${timeoutMs} ms`);
      return undefined;
    }
    if (answer === 'failed') return undefined;
    answered++;
    return answer;
  };
  for (let round = 0; round < rounds && !signal?.aborted; round++) {
    let client: PoolClient | undefined;
    try {
      client = await PoolClient.connect({ socketPath, ...(signal ? { signal } : {}) });
    } catch (error) {
      withoutResult++;
      reasons.add(`connect: ${errorMessage(error)}`);
      continue;
    }
    try {
      await ask(client.status(), 10_000);
      const container = await ask(client.get({ timeoutMs: getTimeoutMs }), getTimeoutMs + 10_000);
      if (!container) {
        withoutResult++;
        if (container === null) reasons.add(`get: no container within ${getTimeoutMs} ms`);
        continue;
      }
      try {
        const result = await container.exec(['/bin/sh', '-c', `echo round-${round}`], { timeoutMs: 30_000 });
        if (result.exitCode !== 0 || result.stdout !== `round-${round}\n`) {
          withoutResult++;
          reasons.add(`the command in ${container.name} gave exit code ${result.exitCode}`);
        }
      } catch (error) {
        withoutResult++;
        reasons.add(`exec in ${container.name}: ${errorMessage(error)}`);
      }
      await ask(client.releaseById(container.id), 10_000);
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  return { jobs: rounds, withoutResult, requests: { sent, answered }, reasons: [...reasons].slice(0, 5) };
}

/** What a service scenario reports: the normal client's rounds, what was left on the engine (then reaped), and notes. */
export async function serviceScenarioOutcome(
  view: EngineView,
  poolId: string,
  fields: Pick<ScenarioOutcome, 'scenario' | 'title' | 'backend' | 'faultsInjected' | 'details'>,
  rounds: ClientRounds | undefined,
  plannedRounds: number,
  notes: string[],
  startedAt: number,
): Promise<ScenarioOutcome> {
  const left = await view.countLeftAndReap(poolId).catch((error: unknown) => {
    notes.push(`listing the engine failed: ${errorMessage(error)}`);
    return { left: 0, names: [] as string[] };
  });
  if (left.left > 0) notes.push(`left on the engine: ${left.names.join(', ')}`);
  notes.push(...(rounds?.reasons ?? []));
  return {
    ...fields,
    jobsRun: rounds?.jobs ?? 0,
    // No rounds at all means the service never came back: every planned round is without a result.
    jobsWithoutResult: rounds ? rounds.withoutResult : plannedRounds,
    jobsFailedByInfrastructure: 0,
    deadContainersHandedOut: null,
    containersLeft: left.left,
    serviceRequests: rounds?.requests ?? { sent: 0, answered: 0 },
    durationMs: Math.round(performance.now() - startedAt),
    notes,
  };
}
