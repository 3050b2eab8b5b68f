import { WarmpoolError } from '../../lib/errors.js';

/**
 * Errors of the lab (worker, submit, results, lab status). Beside the lab rather than in lib/errors.ts because
 * the library never throws them; their codes are as stable as the library's.
 */

/** The lab's Redis did not answer. The message shows its URL without the password. */
export class RedisUnavailableError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_REDIS_UNAVAILABLE';
}

/** No worker is alive in the lab: a suite submitted now would wait for one, and its kinds cannot be checked. */
export class NoLiveHostError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_NO_LIVE_HOST';
}

/** The lab holds no suite of this id (never submitted, or finished and expired). */
export class SuiteNotFoundError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_SUITE_NOT_FOUND';

  constructor(readonly suiteId: string) {
    super(`the lab holds no suite ${JSON.stringify(suiteId)} (never submitted with this --prefix, or finished and expired)`);
  }
}

/** Jobs that name no kind, while the live hosts do not agree on a default kind. */
export class NoDefaultKindError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_NO_DEFAULT_KIND';
}
