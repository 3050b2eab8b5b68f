import { inspect } from 'node:util';
import { Logger } from 'tslog';
import { redactValue } from './redact.js';

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

/** `text`: one readable line per entry. `json`: one JSON object per line, for log collectors. */
export const logFormats = ['text', 'json'] as const;
export type LogFormat = (typeof logFormats)[number];

export function isLogFormat(value: unknown): value is LogFormat {
  return typeof value === 'string' && (logFormats as readonly string[]).includes(value);
}

/** Where log lines go: stderr, or any writable stream. */
export interface LogStream {
  write(line: string, callback?: (error?: Error | null) => void): unknown;
  /** A terminal gets colour. */
  readonly isTTY?: boolean;
  /** False once the stream failed or ended: nothing more is written. */
  readonly writable?: boolean;
  once?(event: 'error', listener: () => void): unknown;
}

export interface LoggerOptions {
  /** Names the logger in every line (`logger` in JSON). @default 'warmpool' */
  readonly name?: string;
  /** @default WARMPOOL_LOG_LEVEL, else 'silent' */
  readonly level?: LogLevel;
  /** @default WARMPOOL_LOG_FORMAT, else 'text' */
  readonly format?: LogFormat;
  /** Fields every line carries, e.g. `{ pool: 'lab-a' }`. Redacted like everything else. */
  readonly context?: Readonly<Record<string, unknown>>;
  /** @default process.stderr (stdout belongs to the program using the library) */
  readonly stream?: LogStream;
  /** ANSI colour in text lines. @default only when the stream is a terminal and NO_COLOR is not set */
  readonly color?: boolean;
  /** Read for the defaults above. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A tslog logger writing one line per entry. Quiet by default: the level comes from `level`, else
 * `WARMPOOL_LOG_LEVEL`, else `silent`. Every argument is redacted first (lib/redact.ts), so a URL with a password or
 * a config holding a token can be logged as it is. A stream that fails (its reader went away: EPIPE) is written to
 * no more; logging never throws and never takes the process down.
 *
 * Arguments: strings and numbers make the message; an Error adds its `code` (and its message); a plain object's
 * fields (`{ pool, container }`) become fields of the line.
 */
export function createLogger(options: LoggerOptions = {}): Logger<unknown> {
  const env = options.env ?? process.env;
  const fromEnvironment = env['WARMPOOL_LOG_LEVEL'];
  const level = options.level ?? (isLogLevel(fromEnvironment) ? fromEnvironment : 'silent');
  const formatFromEnvironment = env['WARMPOOL_LOG_FORMAT'];
  const format = options.format ?? (isLogFormat(formatFromEnvironment) ? formatFromEnvironment : 'text');
  const name = options.name ?? 'warmpool';
  const context = options.context === undefined ? {} : (redactValue(options.context) as Record<string, unknown>);
  const stream = options.stream ?? process.stderr;
  const sink = safeSink(stream);
  const color = format === 'text' && (options.color ?? (stream.isTTY === true && !noColor(env)));
  // tslog's levels run 0 (silly) to 6 (fatal); 'silent' is the hidden type, which writes nothing at any level.
  if (level === 'silent') return new Logger({ name, type: 'hidden', minLevel: 6 });
  return new Logger({
    name,
    type: 'pretty',
    minLevel: logLevels.indexOf(level),
    // The code position costs a stack trace per line and means nothing to an operator.
    hideLogPositionForProduction: true,
    overwrite: {
      mask: (args) => args.map(redactValue),
      // Lines are built below from the raw (redacted) arguments and the entry's metadata, not tslog's markup.
      formatMeta: () => '',
      formatLogObj: (args) => ({ args, errors: [] }),
      transportFormatted: (_markup, args, _errors, meta) => {
        const entry = toEntry(name, context, args, meta);
        sink(format === 'json' ? jsonLine(entry) : textLine(entry, color));
      },
    },
  });
}

/** https://no-color.org: set and not empty. */
function noColor(env: NodeJS.ProcessEnv): boolean {
  const value = env['NO_COLOR'];
  return value !== undefined && value !== '';
}

/**
 * Writes a line unless the stream has failed. A failing pipe reports its error after the write returns, as an
 * 'error' event that would crash the process if nobody listened. The write's callback runs just before that event,
 * so a no-op listener is added then: always, as the listener already there may be one that re-emits the error
 * when it is the last (`Readable.pipe` into stderr does, and tsx pipes into it).
 */
function safeSink(stream: LogStream): (line: string) => void {
  let broken = false;
  const onWritten = (error?: Error | null): void => {
    if (!error || broken) return;
    broken = true;
    stream.once?.('error', () => undefined);
  };
  return (line) => {
    if (broken || stream.writable === false) return;
    try {
      stream.write(line, onWritten);
    } catch {
      // A synchronous failure (a file on a full disk): the same, stop writing.
      broken = true;
    }
  };
}

interface EntryMeta {
  readonly date?: Date;
  readonly logLevelName?: string;
}

interface Entry {
  readonly time: string;
  readonly level: string;
  readonly logger: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
  /** Errors logged, for their code (both formats) and their stack (text, for errors without a code). */
  readonly errors: readonly Error[];
}

/** Fields a logged object cannot overwrite: they are the line's own. */
const ownKeys = new Set(['time', 'level', 'logger', 'message']);

function toEntry(name: string, context: Readonly<Record<string, unknown>>, args: readonly unknown[], meta: EntryMeta | undefined): Entry {
  const words: string[] = [];
  const errors: Error[] = [];
  const fields: Record<string, unknown> = { ...context };
  for (const arg of args) {
    if (arg instanceof Error) {
      errors.push(arg);
    } else if (typeof arg === 'object' && arg !== null && !Array.isArray(arg)) {
      for (const [key, value] of Object.entries(arg)) {
        if (!ownKeys.has(key)) fields[key] = value;
      }
    } else {
      words.push(typeof arg === 'string' ? arg : inspect(arg, { breakLength: Infinity }));
    }
  }
  const [first] = errors;
  if (first !== undefined) {
    const code = errorCode(first);
    if (code !== undefined && fields['code'] === undefined) fields['code'] = code;
    fields['error'] = errors.map((error) => error.message).join('; ');
    // A wrapping error (BackendError) says what failed; its cause says why.
    if (first.cause instanceof Error && fields['cause'] === undefined) fields['cause'] = first.cause.message;
  }
  return {
    time: (meta?.date ?? new Date()).toISOString(),
    level: (meta?.logLevelName ?? 'info').toLowerCase(),
    logger: name,
    message: words.length > 0 ? words.join(' ') : (first?.message ?? ''),
    fields,
    errors,
  };
}

function errorCode(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
}

function jsonLine(entry: Entry): string {
  const { time, level, logger, message, fields } = entry;
  return `${safeStringify({ time, level, logger, message, ...fields })}\n`;
}

/** JSON.stringify that survives what a logged object may hold: bigints, cycles (already cut by redaction). */
function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item));
  } catch {
    return JSON.stringify({ message: inspect(value, { breakLength: Infinity }) });
  }
}

const levelColors: Record<string, string> = {
  silly: '37',
  trace: '37',
  debug: '36',
  info: '32',
  warn: '33',
  error: '31',
  fatal: '1;31',
};

function textLine(entry: Entry, color: boolean): string {
  const paint = (code: string, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const level = paint(levelColors[entry.level] ?? '0', entry.level.toUpperCase().padEnd(5));
  const fields = Object.entries(entry.fields)
    .filter(([key]) => key !== 'error' || entry.message !== entry.fields['error'])
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/[\s"=]/.test(value) ? value : safeStringify(value)}`);
  let line = [`${paint('2', entry.time)} ${level} ${entry.logger}:`, entry.message, ...fields].filter((part) => part !== '').join(' ');
  // An error without a stable code is unexpected: its stack is the only clue where it came from.
  for (const error of entry.errors) {
    if (errorCode(error) === undefined && error.stack !== undefined) line += `\n${indent(error.stack)}`;
  }
  return `${line}\n`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
