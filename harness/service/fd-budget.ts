import { readFileSync, readdirSync } from 'node:fs';

/**
 * File descriptors, and why the service counts them. When a process is out of descriptors, a listening
 * socket cannot accept; libuv then uses its "EMFILE trick": it closes a descriptor it keeps in reserve,
 * accepts every pending connection and closes each at once, and takes its reserve back. Node is not told:
 * no 'error' event, no 'connection'. Clients see their connection closed without a word and the service
 * sees nothing (measured here: ulimit -n 64, 300 connections, 44 accepted, 256 closed silently, no event).
 * So the service keeps its own budget of client sockets: what the limit leaves after what the process already
 * holds and a reserve for its engine work. Most of it is for connections; a quarter (at most 64) is kept for
 * refusing the connections beyond them with an answer (see refuse-socket.ts), which holds a descriptor for a
 * moment. When even that share is taken (a burst of hundreds at once), a refused connection is closed at once,
 * its answer written but perhaps not read. Either way the service never reaches the limit itself.
 */
export interface FdBudget {
  /** The soft limit on open files (`ulimit -n`), or undefined where it cannot be read. */
  readonly limit: number | undefined;
  /** Descriptors open when the budget was taken. */
  readonly inUse: number | undefined;
  /** Descriptors kept for everything but client sockets. */
  readonly reserve: number;
  /** Client sockets at once, connections and refusals (Infinity when the limit is unknown or unlimited). */
  readonly sockets: number;
  /** Of `sockets`, those for connections (at least 1). */
  readonly connections: number;
}

/** At most this many client sockets are kept for refusing connections with an answer. */
const maxRefusalShare = 64;

/**
 * Descriptors kept for everything that is not a client connection, beyond those open at start: engine
 * connections and lxc-* child processes' pipes (a few per creation or removal in flight), the metrics
 * server and its scrapes, the lock and log files.
 */
export function defaultFdReserve(workers: number): number {
  return 32 + 4 * workers;
}

/** The soft RLIMIT_NOFILE from /proc/self/limits: a number, Infinity for "unlimited", undefined if unreadable. */
export function readOpenFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const match = /^Max open files\s+(\S+)/m.exec(text);
  if (!match) return undefined;
  if (match[1] === 'unlimited') return Infinity;
  const limit = Number(match[1]);
  return Number.isSafeInteger(limit) && limit > 0 ? limit : undefined;
}

/** Descriptors this process has open now, or undefined where /proc/self/fd cannot be read. */
export function countOpenFds(): number | undefined {
  try {
    // The listing itself holds one descriptor while it runs.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/** The budget of client sockets now; `observed` is the limit and the descriptors in use (tests give their own). */
export function takeFdBudget(
  reserve: number,
  observed: { readonly limit: number | undefined; readonly inUse: number | undefined } = { limit: readOpenFileLimit(), inUse: countOpenFds() },
): FdBudget {
  const { limit, inUse } = observed;
  if (limit === undefined || inUse === undefined || !Number.isFinite(limit)) {
    return { limit, inUse, reserve, sockets: Infinity, connections: Infinity };
  }
  const sockets = Math.max(1, limit - inUse - reserve);
  const refusals = Math.min(maxRefusalShare, Math.floor(sockets / 4));
  return { limit, inUse, reserve, sockets, connections: Math.max(1, sockets - refusals) };
}
