/** Exit codes scripts can trust. */
export const exitCodes = {
  ok: 0,
  /** The command ran and the answer is "no": a job failed, no container was ready, the service reported errors. */
  failure: 1,
  /** Bad flags or arguments; nothing was done. */
  usage: 2,
  /** The service or engine could not be reached. */
  unavailable: 3,
} as const;

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** One `warmpool <name>` subcommand, in its own file under `commands/`. */
export interface CliCommand {
  readonly name: string;
  /** One line for `warmpool --help`. */
  readonly summary: string;
  /** The whole `warmpool <name> --help` text. */
  readonly help: string;
  /** Resolves with the process exit code. Throws UsageError for bad arguments. */
  run(args: string[], io: CliIo): Promise<number>;
}

export { UsageError } from '../usage-error.js';
