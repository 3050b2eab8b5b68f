import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

type FlagOptions = NonNullable<ParseArgsConfig['options']>;

type ParsedFlags<O extends FlagOptions> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>['values'];

/**
 * `util.parseArgs`, strict, no positionals, with its errors turned into UsageError (exit code 2). Below the CLI,
 * so the service's, the bench's and the fault suite's option parsers share it.
 */
export function parseFlags<const O extends FlagOptions>(args: string[], options: O): ParsedFlags<O> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
