import { resolve } from 'node:path';
import { WarmpoolError } from '../../../lib/errors.js';
import { benchHelp, parseBenchOptions } from '../../bench/bench-options.js';
import { benchPoolIds, runBench } from '../../bench/bench-runner.js';
import { formatTable, writeReport } from '../../bench/report.js';
import { exitCodes, type CliCommand, type CliIo } from '../command.js';

/**
 * SIGINT and SIGTERM stop the measurements, and the run still removes every container it made. A second signal
 * means the user will not wait: quit at once.
 */
function interruptOnSignals(controller: AbortController, io: CliIo, backend: string): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      const { local, service } = benchPoolIds();
      const reap = (poolId: string): string => `\`warmpool reap --backend ${backend} --pool-id ${poolId}\``;
      io.stderr.write(`\nwarmpool bench: ${signal} again, quitting now; ${reap(local)} and ${reap(service)} remove what is left\n`);
      process.exit(130);
    }
    io.stderr.write(`\nwarmpool bench: ${signal}: stopping, removing the bench's containers (${signal} again to quit at once)\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function run(args: string[], io: CliIo): Promise<number> {
  const options = parseBenchOptions(args);
  const controller = new AbortController();
  const stopListening = interruptOnSignals(controller, io, options.backend);
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
