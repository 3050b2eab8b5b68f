import { readFileSync, readdirSync } from 'node:fs';

/**
 * File descriptors, and why the service counts them. When a process is out of descriptors, a listening
 * socket cannot accept; libuv then uses its "EMFILE trick": it closes a descriptor it keeps in reserve,
 * accepts every pending connection and closes each at once, and takes its reserve back. Node is not told:
 * no 'error' event, no 'connection'. Clients see their connection closed without a word and the service
 * sees nothing (measured here: ulimit -n 64, 300 connections, 44 accepted, 256 closed silently, no event).
 * So the service keeps its own budget: it takes at most as many connections as the limit leaves after what
 * the process already holds and a reserve for its engine work, and answers any connection beyond that with an
 * error of its own before closing it. The descriptor it accepts for that is closed at once, so the budget
 * holds under a burst of any size.
 */
export interface FdBudget {
  /** The soft limit on open files (`ulimit -n`), or undefined where it cannot be read. */
  readonly limit: number | undefined;
  /** Descriptors open when the budget was taken. */
  readonly inUse: number | undefined;
  /** Descriptors kept for everything but client connections. */
  readonly reserve: number;
  /** Client connections the budget leaves room for (Infinity when the limit is unknown or unlimited). */
  readonly connections: number;
}

/**
 * Descriptors kept for everything that is not a client connection, beyond those open at start: engine
 * connections and lxc-* child processes' pipes (a few per creation or removal in flight), the metrics
 * server and its scrapes, the lock and log files.
 */
export function defaultFdReserve(workers: number): number {
  return 48 + 4 * workers;
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

export function takeFdBudget(reserve: number, limit = readOpenFileLimit(), inUse = countOpenFds()): FdBudget {
  if (limit === undefined || inUse === undefined || !Number.isFinite(limit)) return { limit, inUse, reserve, connections: Infinity };
  return { limit, inUse, reserve, connections: Math.max(0, limit - inUse - reserve) };
}
