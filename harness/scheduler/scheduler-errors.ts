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

/** A suite's job asks for a kind of container its source does not have; nothing was run. */
export class UnknownJobKindError extends WarmpoolError {
  readonly code = 'ERR_WARMPOOL_UNKNOWN_JOB_KIND';

  constructor(
    /** Each job naming a kind that does not exist, with that kind, in suite order. */
    readonly jobs: readonly { readonly job: string; readonly kind: string }[],
    /** The kinds the source has, its default first. */
    readonly known: readonly string[],
  ) {
    const asked = jobs.map(({ job, kind }) => `job ${JSON.stringify(job)} asks for kind ${JSON.stringify(kind)}`).join('; ');
    super(`${asked}, which the containers' source does not have; the kinds are: ${known.map((name) => JSON.stringify(name)).join(', ') || '(none)'}`);
  }
}
