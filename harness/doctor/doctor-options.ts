import { parseIntegerFlag } from '../service/cli-flags.js';
import { parseServeArgs, type ServiceConfig } from '../service/service-config.js';
import { UsageError } from '../usage-error.js';

export interface DoctorOptions {
  /** The settings `warmpool serve` would run with, given the same options. */
  readonly config: ServiceConfig;
  /** Print `{ ok, checks }` instead of lines. */
  readonly json: boolean;
  /** The longest the trial container may take to start and pass its readiness command. */
  readonly containerTimeoutMs: number;
}

export const defaultContainerTimeoutMs = 60_000;

/**
 * `warmpool doctor` takes serve's own options (`--backend`, `--pool-id`, `--socket`, `--config`, the engine
 * settings), parsed by serve's parser, so the doctor checks exactly what that serve would use: the operator
 * copies the service's command line. Its own are `--json` and `--timeout-ms`, taken out first.
 */
export function parseDoctorArgs(args: readonly string[], env: NodeJS.ProcessEnv = process.env): DoctorOptions {
  const serveArgs: string[] = [];
  let json = false;
  let containerTimeoutMs = defaultContainerTimeoutMs;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (arg === '--json') {
      json = true;
    } else if (arg === '--timeout-ms' || arg.startsWith('--timeout-ms=')) {
      const value = arg === '--timeout-ms' ? args[++index] : arg.slice('--timeout-ms='.length);
      if (value === undefined) throw new UsageError('--timeout-ms needs a value: milliseconds');
      containerTimeoutMs = parseIntegerFlag('--timeout-ms', value, { min: 1 });
    } else {
      serveArgs.push(arg);
    }
  }
  return { config: parseServeArgs(serveArgs, env), json, containerTimeoutMs };
}
