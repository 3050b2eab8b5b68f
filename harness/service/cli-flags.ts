import { InvalidOptionError } from '../../lib/errors.js';
import { validatePoolId } from '../../lib/backends/owner.js';
import { defaultSocketPath, validateSocketPath } from './socket-file.js';

export { parseFlags } from '../command-flags.js';

export interface NumberFlagRules {
  readonly min: number;
  readonly max?: number;
  /** Accept `Infinity` (spelled so). */
  readonly allowInfinity?: boolean;
}

/** A whole number given on the command line (digits only: `1e3`, `0x10` and `5.5` are refused). */
export function parseIntegerFlag(flag: string, text: string, rules: NumberFlagRules): number {
  const value = rules.allowInfinity && text === 'Infinity' ? Infinity : /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  return validateInteger(flag, value, rules, text);
}

/** Checks a number from a flag or a config file against `rules`; `shown` is what the user wrote. */
export function validateInteger(option: string, value: unknown, rules: NumberFlagRules, shown: unknown = value): number {
  const { min, max = Number.MAX_SAFE_INTEGER, allowInfinity = false } = rules;
  if ((allowInfinity && value === Infinity) || (Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max)) {
    return value as number;
  }
  const range = max === Number.MAX_SAFE_INTEGER ? `from ${min} up` : `from ${min} to ${max}`;
  throw new InvalidOptionError(option, shown, `an integer ${range}${allowInfinity ? ' or Infinity' : ''}`);
}

/** The flags every client command takes to find the service. */
export const socketFlags = {
  socket: { type: 'string' },
  'pool-id': { type: 'string' },
} as const;

/** `--socket`, else the default socket path of `--pool-id` (else of the pool id `default`). */
export function socketFromFlags(values: { socket?: string | undefined; 'pool-id'?: string | undefined }): string {
  if (values.socket !== undefined) return validateSocketPath(values.socket, '--socket');
  return defaultSocketPath(poolIdFromFlag(values['pool-id']));
}

export function poolIdFromFlag(value: string | undefined): string {
  if (value === undefined) return 'default';
  try {
    return validatePoolId(value);
  } catch (error) {
    if (error instanceof InvalidOptionError) throw new InvalidOptionError('--pool-id', value, 'lowercase letters, digits, `_`, `.`, `-`; 1 to 40 characters, starting with a letter or digit');
    throw error;
  }
}

export const socketHelp = `  --socket PATH        The service's unix socket. Default: $XDG_RUNTIME_DIR/warmpool/<pool-id>.sock,
                       else /tmp/warmpool-<uid>/<pool-id>.sock
  --pool-id ID         Picks the default socket path of that pool. Default: default`;
