import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BadClients } from '../bad-clients.js';
import type { CliProcess } from '../cli-process.js';
import { EngineView } from '../engine-view.js';
import type { FaultContext } from '../fault-context.js';
import type { ScenarioOutcome } from '../fault-figures.js';
import { normalClientRounds, serviceScenarioOutcome, serviceStatus, startServe, stopServe, untilServiceReady } from '../serve-process.js';

/**
 * Room under the connection cap, beyond the bad clients, for the normal client and the suite's status checks.
 * The scenario sets the cap itself so that "more than the cap" stays small.
 */
const capHeadroom = 9;
/** Kinds of bad client opened per `scale.badClients`: slow, silent, half-line, garbage, never-reading. */
const badKinds = 5;

/** Until a status request is answered with fewer connections than `cap` (the asker's own included). */
async function untilBelowCap(socketPath: string, cap: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await serviceStatus(socketPath);
    if (status !== undefined && status.connections < cap) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** The resident memory of a process, in MiB, or null. */
async function residentMiB(pid: number): Promise<number | null> {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? null : Math.round(Number(match[1]) / 1024);
  } catch {
    return null;
  }
}

/**
 * Slow, silent, half-line, garbage-sending, never-reading and greedy clients against `warmpool serve`, then a
 * burst of connections past its cap, closed again. With the bad
 * clients still connected, a normal client must be served: status, a container within its timeout, a command
 * run in it, the release.
 */
export async function badClients(context: FaultContext): Promise<ScenarioOutcome> {
  const started = performance.now();
  const { scale, signal } = context;
  const poolId = context.poolId('clients');
  const settings = { ...context.settings, poolId };
  const view = new EngineView(settings);
  const socketPath = join(context.workDir, `${poolId}.sock`);
  const notes: string[] = [];
  // The bad clients (and the greedy one) stay connected throughout; the cap leaves the normal client room.
  const cap = scale.badClients * badKinds + 1 + capHeadroom;
  const clients = new BadClients(socketPath);
  let service: CliProcess | undefined;
  let injected = 0;
  let rounds: Awaited<ReturnType<typeof normalClientRounds>> | undefined;
  let memory: { before: number | null; after: number | null } = { before: null, after: null };
  let overCap: { opened: number; answeredOrClosed: number } | null = null;
  try {
    service = await startServe(settings, { socketPath, size: scale.poolSize, extraArgs: ['--max-connections', String(cap)] });
    await untilServiceReady(socketPath, scale.poolSize, 60_000, signal);
    memory.before = await residentMiB(service.pid);
    for (let index = 0; index < scale.badClients; index++) {
      await Promise.all([clients.slow(), clients.silent(), clients.halfLine(), clients.garbage(), clients.neverReading()]);
      injected += badKinds;
    }
    await clients.greedy(scale.floodGets);
    injected++;
    context.log(`bad-clients: ${injected} bad clients connected (${clients.refused} refused, ${clients.closedByService} closed by the service)`);
    // Past the cap, then back under it: the excess must have been told so, and must not keep the others out.
    const flood = await clients.flood(cap + scale.extraConnections, 1500);
    injected += flood.opened;
    overCap = { opened: flood.opened, answeredOrClosed: flood.answeredOrClosed };
    context.log(`bad-clients: ${flood.opened} more connections opened and closed again; ${flood.answeredOrClosed} answered or closed by the service`);
    // The service sees those closes a moment later; until then a new client is (rightly) over the cap.
    if (!(await untilBelowCap(socketPath, cap, 10_000))) notes.push('the service still counted the closed connections 10 s later');
    rounds = await normalClientRounds(socketPath, scale.clientRounds, 20_000, signal);
    memory = { ...memory, after: await residentMiB(service.pid) };
    notes.push(
      `${clients.closedByService} bad connection(s) closed by the service, ${clients.refused} refused, ${clients.open} still open when the normal client was done`,
    );
    clients.destroyAll();
    const stopped = await stopServe(service);
    service = undefined;
    if (stopped.code !== 0) notes.push(`the service exited with ${stopped.code ?? stopped.signal}${stopped.killed ? ' (SIGKILLed after 30 s)' : ''}`);
  } finally {
    clients.destroyAll();
    if (service) {
      service.kill('SIGKILL');
      await service.exited;
    }
  }
  return serviceScenarioOutcome(
    view,
    poolId,
    {
      scenario: 'bad-clients',
      title: 'slow, silent, garbage, never-reading and greedy clients; more connections than the cap',
      backend: context.backend,
      faultsInjected: injected,
      details: { poolId, connectionCap: cap, overCap, floodGets: scale.floodGets, serviceMemoryMiB: memory },
    },
    rounds,
    scale.clientRounds,
    notes,
    started,
  );
}
