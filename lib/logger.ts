import { Logger } from 'tslog';

/** The subset of a logger the library calls. A tslog `Logger` fits, and so does `console`. */
export interface PoolLogger {
  debug(...args: unknown[]): unknown;
  info(...args: unknown[]): unknown;
  warn(...args: unknown[]): unknown;
  error(...args: unknown[]): unknown;
}

export const logLevels = ['silly', 'trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (logLevels as readonly string[]).includes(value);
}

/**
 * A tslog logger writing to stderr (stdout belongs to the program using the library). Quiet by default: the
 * level comes from `level`, else `WARMPOOL_LOG_LEVEL`, else `silent`.
 */
export function createLogger(options: { name?: string; level?: LogLevel } = {}): Logger<unknown> {
  const fromEnvironment = process.env['WARMPOOL_LOG_LEVEL'];
  const level = options.level ?? (isLogLevel(fromEnvironment) ? fromEnvironment : 'silent');
  return new Logger({
    name: options.name ?? 'warmpool',
    type: level === 'silent' ? 'hidden' : 'pretty',
    // tslog's levels run 0 (silly) to 6 (fatal); 'silent' is the hidden type at the top level.
    minLevel: Math.min(logLevels.indexOf(level), 6),
    overwrite: {
      transportFormatted: (meta, args, errors) => {
        process.stderr.write(`${[meta, ...args.map(String), ...errors].join(' ')}\n`);
      },
    },
  });
}
