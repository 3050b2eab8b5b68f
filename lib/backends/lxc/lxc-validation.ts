import { isAbsolute } from 'node:path';
import type { ExecOptions } from '../../container.js';
import { InvalidOptionError } from '../../errors.js';

/**
 * Checks on what callers hand the LXC backend. Everything ends up as an argument of an `lxc-*` command, so
 * values are checked before anything runs rather than left for the tools to misread.
 */

const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function validateAbsolutePath(option: string, value: unknown): string {
  if (typeof value !== 'string' || !isAbsolute(value) || value.includes('\0')) {
    throw new InvalidOptionError(option, value, 'an absolute path');
  }
  return value;
}

export function validateEnv(option: string, value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(option, value, 'an object of environment variables');
  }
  for (const [key, entry] of Object.entries(value)) {
    if (!envNamePattern.test(key) || typeof entry !== 'string' || entry.includes('\0')) {
      throw new InvalidOptionError(
        `${option}.${key}`,
        entry,
        `a string, under a name matching ${String(envNamePattern)}`,
      );
    }
  }
  return value as Record<string, string>;
}

export function validateArgv(option: string, value: unknown): readonly string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((word) => typeof word === 'string' && !word.includes('\0')) ||
    value[0] === ''
  ) {
    throw new InvalidOptionError(option, value, 'a non-empty array of strings (the command and its arguments)');
  }
  return value as string[];
}

export interface ValidExecOptions {
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
}

export function validateExecOptions(options: unknown): ValidExecOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object like { signal, timeoutMs, env, cwd }');
  }
  const { signal, timeoutMs, env, cwd } = options as ExecOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidOptionError('signal', signal, 'an AbortSignal');
  }
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs <= 0)) {
    throw new InvalidOptionError('timeoutMs', timeoutMs, 'a number of milliseconds above 0 (Infinity allowed)');
  }
  return {
    signal,
    timeoutMs,
    env: validateEnv('env', env),
    cwd: cwd === undefined ? undefined : validateAbsolutePath('cwd', cwd),
  };
}
