import { randomBytes } from 'node:crypto';
import { UsageError } from '../usage-error.js';

/**
 * Names in Redis. BullMQ keys are `<prefix>:<queue>:…`; queue names and job ids may not hold ':' (BullMQ refuses
 * them), so ours use '.' and '-'. Every lab sharing one Redis has its own prefix.
 */

export const defaultLabPrefix = 'warmpool';
/** The queue of suites: each suite is a parent job, its jobs children in their kinds' queues (a BullMQ flow). */
export const suitesQueueName = 'suites';

const prefixPattern = /^[A-Za-z0-9_.-]{1,64}$/;
const hostIdPattern = /^[A-Za-z0-9_.-]{1,64}$/;

export function checkPrefix(prefix: string): string {
  if (!prefixPattern.test(prefix)) throw new UsageError(`--prefix must be 1-64 of A-Z a-z 0-9 _ . -, got ${JSON.stringify(prefix)}`);
  return prefix;
}

export function checkHostId(id: string): string {
  if (!hostIdPattern.test(id)) throw new UsageError(`--host-id must be 1-64 of A-Z a-z 0-9 _ . -, got ${JSON.stringify(id)}`);
  return id;
}

/** A host id from a machine's name: what is not allowed becomes '-'. */
export function hostIdFromHostname(hostname: string): string {
  const id = hostname.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
  return id === '' ? 'host' : id;
}

/** The queue a kind's jobs wait in: only hosts that keep that kind warm take from it. */
export function kindQueueName(kind: string): string {
  return `kind.${kind}`;
}

/** A new suite id: time-ordered (base 36 milliseconds) and unique (random), safe as a BullMQ job id. */
export function newSuiteId(now: number = Date.now(), random: Buffer = randomBytes(4)): string {
  return `${now.toString(36)}-${random.toString('hex')}`;
}

const suiteIdPattern = /^[a-z0-9]{1,16}-[0-9a-f]{8}$/;

export function checkSuiteId(id: string): string {
  if (!suiteIdPattern.test(id)) throw new UsageError(`not a suite id (as \`warmpool submit --detach\` prints them): ${JSON.stringify(id)}`);
  return id;
}

/** The BullMQ job id of the suite's job at `index` (in suite order). */
export function labJobId(suiteId: string, index: number): string {
  return `${suiteId}.${index}`;
}

/** The index in the suite of a job id made by `labJobId`, or undefined for a job id of another suite. */
export function indexOfLabJobId(suiteId: string, jobId: string): number | undefined {
  if (!jobId.startsWith(`${suiteId}.`)) return undefined;
  const index = Number(jobId.slice(suiteId.length + 1));
  return Number.isInteger(index) && index >= 0 ? index : undefined;
}

/** The host registry: one hash per host (kept after it dies, so the lab shows it dead) and a key that expires. */
export const registryKeys = {
  hosts: (prefix: string) => `${prefix}:lab:hosts`,
  host: (prefix: string, id: string) => `${prefix}:lab:host:${id}`,
  alive: (prefix: string, id: string) => `${prefix}:lab:host:${id}:alive`,
};
