import { InvalidOptionError } from '../../lib/errors.js';
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
};

async function usage(io: CliIo): Promise<string> {
  const lines = ['Usage: warmpool <command> [options]', '', 'Commands:'];
  for (const load of Object.values(commands)) {
    const { command } = await load();
    lines.push(`  ${command.name.padEnd(8)} ${command.summary}`);
  }
  lines.push('', 'Run `warmpool <command> --help` for its options.');
  io.stdout.write(`${lines.join('\n')}\n`);
  return lines.join('\n');
}

export async function main(argv: string[], io: CliIo = process): Promise<number> {
  const [name, ...args] = argv;
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
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${command.help.trimEnd()}\n`);
    return exitCodes.ok;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof InvalidOptionError) {
      io.stderr.write(`warmpool ${name}: ${error.message}\n\n${command.help.trimEnd()}\n`);
      return exitCodes.usage;
    }
    throw error;
  }
}
