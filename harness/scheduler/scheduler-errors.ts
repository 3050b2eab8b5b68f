import { WarmpoolError } from '../../lib/errors.js';

/**
 * Errors of `warmpool run`'s journal and `--resume`. They live beside the scheduler rather than in
 * `lib/errors.ts` because the library never throws them; their codes are as stable as the library's.
 */

/** OUT holds no journal a run can be resumed from: missing, unreadable, or not starting with a run header. */
export class JournalUnusableError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_JOURNAL_UNUSABLE';

  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`Cannot resume from ${path}: ${why}`);
  }
}

/** `--resume` was given a suite file whose bytes are not those the journaled run started with. */
export class SuiteChangedError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_SUITE_CHANGED';

  constructor(
    readonly suiteFile: string,
    readonly journaledSha256: string,
    readonly actualSha256: string,
  ) {
    super(
      `The suite file ${suiteFile} is not the one the journaled run started with ` +
        `(sha256 ${actualSha256.slice(0, 12)}… now, ${journaledSha256.slice(0, 12)}… in the journal); ` +
        'resuming would mix results of two suites. Run it afresh without --resume.',
    );
  }
}
