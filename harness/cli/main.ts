import { InvalidOptionError } from '../../lib/errors.js';
import { isLogFormat, logFormats, type LogFormat } from '../../lib/logger.js';
import { exitCodes, UsageError, type CliCommand, type CliIo } from './command.js';

/** Loaded on demand, so `warmpool status` does not load the scheduler. */
const commands: Record<string, () => Promise<{ command: CliCommand }>> = {
  serve: () => import('./commands/serve.js'),
  status: () => import('./commands/status.js'),
  get: () => import('./commands/get.js'),
  errors: () => import('./commands/errors.js'),
  reap: () => import('./commands/reap.js'),
  stop: () => import('./commands/stop.js'),
  run: () => import('./commands/run.js'),
  bench: () => import('./commands/bench.js'),
  faults: () => import('./commands/faults.js'),
  doctor: () => import('./commands/doctor.js'),
  worker: () => import('./commands/worker.js'),
  submit: () => import('./commands/submit.js'),
  results: () => import('./commands/results.js'),
  lab: () => import('./commands/lab.js'),
};

export const globalHelp = `Global options (any command, anywhere before \`--\`):
  --log-format text|json   Log lines as plain text (coloured on a terminal unless NO_COLOR is set) or as one
                           JSON object a line {time, level, logger, message, pool, container, code, ...}.
                           Default: $WARMPOOL_LOG_FORMAT, else text. The level: $WARMPOOL_LOG_LEVEL (serve: --log-level)`;

export interface GlobalOptions {
  readonly logFormat?: LogFormat;
}

/**
 * Takes the options every command shares out of `argv`, so each command's own strict parser never sees them.
 * They are process-wide settings, passed on through the environment, which every logger of the process (and any
 * child process it starts) reads.
 */
export function takeGlobalOptions(argv: readonly string[]): { args: string[]; options: GlobalOptions } {
  const args: string[] = [];
  let logFormat: LogFormat | undefined;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? '';
    if (arg === '--') {
      args.push(...argv.slice(index));
      break;
    }
    if (arg !== '--log-format' && !arg.startsWith('--log-format=')) {
      args.push(arg);
      continue;
    }
    const value = arg === '--log-format' ? argv[++index] : arg.slice('--log-format='.length);
    if (value === undefined) throw new UsageError(`--log-format needs a value: ${logFormats.join(' or ')}`);
    if (!isLogFormat(value)) throw new UsageError(`--log-format must be ${logFormats.join(' or ')}, got ${JSON.stringify(value)}`);
    logFormat = value;
  }
  return { args, options: logFormat === undefined ? {} : { logFormat } };
}

async function usage(io: CliIo): Promise<string> {
  const lines = ['Usage: warmpool <command> [options]', '', 'Commands:'];
  for (const load of Object.values(commands)) {
    const { command } = await load();
    lines.push(`  ${command.name.padEnd(8)} ${command.summary}`);
  }
  lines.push('', globalHelp, '', 'Run `warmpool <command> --help` for its options.');
  io.stdout.write(`${lines.join('\n')}\n`);
  return lines.join('\n');
}

/** Sets the global options up in `env`; a WARMPOOL_LOG_FORMAT the loggers would ignore is refused instead. */
function applyGlobalOptions(options: GlobalOptions, env: NodeJS.ProcessEnv): void {
  if (options.logFormat !== undefined) env['WARMPOOL_LOG_FORMAT'] = options.logFormat;
  const format = env['WARMPOOL_LOG_FORMAT'];
  if (format !== undefined && format !== '' && !isLogFormat(format)) {
    throw new UsageError(`WARMPOOL_LOG_FORMAT must be ${logFormats.join(' or ')}, got ${JSON.stringify(format)}`);
  }
}

export async function main(argv: string[], io: CliIo = process, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let taken: { args: string[]; options: GlobalOptions };
  try {
    taken = takeGlobalOptions(argv);
    applyGlobalOptions(taken.options, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`warmpool: ${error.message}\n`);
    return exitCodes.usage;
  }
  const [name, ...args] = taken.args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    await usage(io);
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  const load = commands[name];
  if (!load) {
    io.stderr.write(`warmpool: unknown command ${JSON.stringify(name)}. Commands: ${Object.keys(commands).join(', ')}\n`);
    return exitCodes.usage;
  }
  const { command } = await load();
  const help = `${command.help.trimEnd()}\n\n${globalHelp}`;
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${help}\n`);
    return exitCodes.ok;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof InvalidOptionError) {
      io.stderr.write(`warmpool ${name}: ${error.message}\n\n${help}\n`);
      return exitCodes.usage;
    }
    throw error;
  }
}
