import { resolve } from 'node:path';
import { WarmpoolError } from '../../../lib/errors.js';
import { benchHelp, parseBenchOptions } from '../../bench/bench-options.js';
import { benchPoolIds, runBench } from '../../bench/bench-runner.js';
import { formatTable, writeReport } from '../../bench/report.js';
import { exitCodes, type CliCommand, type CliIo } from '../command.js';
import { interruptOnSignals } from '../interrupt.js';

async function run(args: string[], io: CliIo): Promise<number> {
  const options = parseBenchOptions(args);
  const controller = new AbortController();
  const reap = (poolId: string): string => `\`warmpool reap --backend ${options.backend} --pool-id ${poolId}\``;
  // The measurements stop, and the run still removes every container it made.
  const stopListening = interruptOnSignals(controller, io, {
    stopping: (signal) => `warmpool bench: ${signal}: stopping, removing the bench's containers (${signal} again to quit at once)`,
    quitting: (signal) => {
      const { local, service } = benchPoolIds();
      return `warmpool bench: ${signal} again, quitting now; ${reap(local)} and ${reap(service)} remove what is left`;
    },
    quitExitCode: 130,
  });
  try {
    const { report, failed } = await runBench(options, {
      command: ['warmpool', 'bench', ...args].join(' '),
      signal: controller.signal,
      progress: (line) => io.stderr.write(`bench: ${line}\n`),
    });
    io.stdout.write(`${formatTable(report)}\n`);
    const out = resolve(options.out);
    await writeReport(out, report);
    io.stdout.write(`\nwrote ${out}\n`);
    return failed ? exitCodes.failure : exitCodes.ok;
  } catch (error) {
    if (controller.signal.aborted) {
      io.stderr.write('warmpool bench: interrupted; its containers were removed, no figures written\n');
      return exitCodes.failure;
    }
    // The warm-up creation failed: the engine, its image or LXC base is not there. Nothing was measured.
    if (error instanceof WarmpoolError) {
      io.stderr.write(`warmpool bench: the ${options.backend} engine could not make a container: ${error.message}\n`);
      return exitCodes.unavailable;
    }
    throw error;
  } finally {
    stopListening();
  }
}

export const command: CliCommand = {
  name: 'bench',
  summary: 'Measure the pool against the engine: refill, checkout, on demand, job start, idle cost, scale',
  help: benchHelp,
  run,
};
