import type { ConnectionLimits } from './connection.js';

/** The bounds that keep one client (or a crowd of them) from taking the service down or the pool for itself. */
export interface ServiceLimits extends ConnectionLimits {
  /**
   * Client connections at once. Fewer when the open-file limit leaves room for fewer (see fd-budget.ts); a
   * connection beyond it gets ERR_WARMPOOL_TOO_MANY_CONNECTIONS and is closed.
   */
  readonly maxConnections: number;
}

/**
 * Sized so that no well-behaved client meets them (the scheduler keeps one get per job in flight; an answer is
 * a few hundred bytes) while the worst a client can hold stays small: 1000 waiting gets cost about 1 MB, and a
 * chunk of requests read before back-pressure stops reading is answered within 4 MiB.
 */
export const defaultServiceLimits: ServiceLimits = {
  maxConnections: 1000,
  maxWaitingGets: 1000,
  maxUnreadBytes: 4 * 1024 * 1024,
  lineTimeoutMs: 30_000,
  maxLineBytes: 64 * 1024,
};
