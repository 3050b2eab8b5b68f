import { parseArgs } from 'node:util';
import { validatePoolId } from '../../../lib/backends/owner.js';
import { InvalidOptionError, errorMessage } from '../../../lib/errors.js';
import { createBackendFactory, isBackendName, resolveBackendSettings, type BackendName } from '../../backend.js';
import { PoolSource, type ContainerSource } from '../../scheduler/container-source.js';
import { ProgressReporter } from '../../scheduler/progress.js';
import { prepareOutDir, writeResults, type RunDescription } from '../../scheduler/results-writer.js';
import { defaultCheckoutTimeoutMs, runSuite, type SuiteResult } from '../../scheduler/scheduler.js';
import { loadSuite, type Suite } from '../../scheduler/suite.js';
import { connectServiceSource } from '../../scheduler/service-source.js';
import { ServiceUnavailableError } from '../../service/service-errors.js';
import { exitCodes, UsageError, type CliCommand, type CliIo } from '../command.js';
import { interruptOnSignals } from '../interrupt.js';

const defaultConcurrency = 4;
const defaultOutDir = 'results';
const defaultPoolId = 'run';

const help = `Usage: warmpool run SUITE.json [options]

Runs a suite of test jobs, each in a fresh container: copies its files in, runs its command with its env and
timeout, saves stdout, stderr and its artifacts, destroys the container. Writes OUT/results.json and
OUT/junit.xml, prints a summary table.

Options:
  --backend docker|lxc        Backend of the in-process pool (default: docker)
  --size N                    Containers the in-process pool keeps ready (default: the concurrency, at most
                              the number of jobs)
  --concurrency K             Jobs at once (default: ${defaultConcurrency})
  --out DIR                   Where results go (default: ${defaultOutDir}/); its previous results.json, junit.xml
                              and jobs/ are removed first
  --socket PATH               Check containers out of a running \`warmpool serve\` instead of a pool of its own
  --docker-socket PATH        With --socket: the Docker engine the service's containers are on
                              (default: the fixture engine)
  --pool-id ID                Pool id of the in-process pool's containers (default: ${defaultPoolId})
  --checkout-timeout-ms MS    How long a job waits for a container before it ends \`error\`
                              (default: ${defaultCheckoutTimeoutMs})

Statuses: passed (exit 0), failed (other exit code), timeout (killed with its container), error (no container
or the infrastructure failed; failed and error jobs are retried per their \`retries\`), cancelled (interrupted).
Ctrl-C or SIGTERM stops the run: running jobs are stopped and their containers destroyed, the pool is cleaned
up and the results are written; a second Ctrl-C quits at once.

Exit codes: 0 every job passed; 1 some job did not; 2 bad arguments or an invalid suite (nothing was started);
3 no service answers on --socket.`;

interface RunArguments {
  readonly suiteFile: string;
  readonly backend: BackendName;
  readonly size: number | undefined;
  readonly concurrency: number;
  readonly outDir: string;
  readonly socket: string | undefined;
  readonly dockerSocket: string | undefined;
  readonly poolId: string;
  readonly checkoutTimeoutMs: number;
}

function positiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(text)) throw new UsageError(`--${flag} must be an integer from 1 up, got ${JSON.stringify(text)}`);
  return Number(text);
}

export function parseRunArguments(args: string[]): RunArguments {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        backend: { type: 'string' },
        size: { type: 'string' },
        concurrency: { type: 'string' },
        out: { type: 'string' },
        socket: { type: 'string' },
        'docker-socket': { type: 'string' },
        'pool-id': { type: 'string' },
        'checkout-timeout-ms': { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] === undefined) {
    throw new UsageError(positionals.length === 0 ? 'give the suite file to run' : `give one suite file, got ${positionals.length}`);
  }
  const backend = values.backend ?? 'docker';
  if (!isBackendName(backend)) throw new UsageError(`--backend must be docker or lxc, got ${JSON.stringify(backend)}`);
  if (values.socket !== undefined) {
    for (const flag of ['size', 'pool-id', 'backend'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} is for the in-process pool; with --socket the service decides it`);
    }
  } else if (values['docker-socket'] !== undefined) {
    throw new UsageError('--docker-socket goes with --socket');
  }
  const checkoutText = values['checkout-timeout-ms'];
  if (checkoutText !== undefined && !/^[1-9][0-9]*$/.test(checkoutText)) {
    throw new UsageError(`--checkout-timeout-ms must be a number of milliseconds from 1 up, got ${JSON.stringify(checkoutText)}`);
  }
  return {
    suiteFile: positionals[0],
    backend,
    size: positiveInteger('size', values.size),
    concurrency: positiveInteger('concurrency', values.concurrency) ?? defaultConcurrency,
    outDir: values.out ?? defaultOutDir,
    socket: values.socket,
    dockerSocket: values['docker-socket'],
    // Checked here, not when the pool starts: by then the output directory would already be cleared.
    poolId: validatePoolId(values['pool-id'] ?? defaultPoolId),
    checkoutTimeoutMs: checkoutText === undefined ? defaultCheckoutTimeoutMs : Number(checkoutText),
  };
}

async function openSource(args: RunArguments, suite: Suite, signal: AbortSignal): Promise<{ source: ContainerSource; description: RunDescription }> {
  const base = { suiteFile: args.suiteFile, checkoutTimeoutMs: args.checkoutTimeoutMs };
  if (args.socket !== undefined) {
    const source = await connectServiceSource({ socketPath: args.socket, ...(args.dockerSocket === undefined ? {} : { dockerSocket: args.dockerSocket }), signal });
    return { source, description: { ...base, source: 'service', socket: args.socket } };
  }
  const settings = resolveBackendSettings({ backend: args.backend, poolId: args.poolId });
  const size = args.size ?? Math.min(args.concurrency, suite.jobs.length);
  // Validated before anything is created: the pool's constructor starts creating at once.
  const factory = createBackendFactory(settings);
  const source = PoolSource.start(factory, { size });
  return { source, description: { ...base, source: 'in-process', backend: settings.backend, poolId: settings.poolId, poolSize: size } };
}

/** How many distinct creation errors are shown: enough to say why jobs wait, not a flood. */
const shownCreationErrors = 3;

/** Tells the user why jobs wait when the pool cannot create containers (the engine is down, the image is missing). */
function showCreationErrors(source: PoolSource, progress: ProgressReporter): void {
  const seen = new Set<string>();
  source.onCreationError((error) => {
    if (seen.has(error.message) || seen.size >= shownCreationErrors) return;
    seen.add(error.message);
    progress.note(`pool: a container creation failed: ${error.message}`);
  });
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseRunArguments(argv);
  let suite: Suite;
  try {
    suite = await loadSuite(args.suiteFile);
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    // The suite's own message names the job and field; the command's help would only bury it.
    io.stderr.write(`warmpool run: invalid suite ${args.suiteFile}: ${error.message}\nNothing was run.\n`);
    return exitCodes.usage;
  }

  const controller = new AbortController();
  // The scheduler stops jobs and destroys their containers; we clean up and write results.
  const stopListening = interruptOnSignals(controller, io, {
    stopping: (signal) => `warmpool run: ${signal}: stopping jobs, destroying their containers (${signal} again to quit at once)`,
    quitting: (signal) => `warmpool run: ${signal} again, quitting now; \`warmpool reap\` removes containers left behind`,
    quitExitCode: 130,
  });
  try {
    let opened;
    try {
      opened = await openSource(args, suite, controller.signal);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableError)) throw error;
      io.stderr.write(`warmpool run: ${error.message}\nNothing was run.\n`);
      return exitCodes.unavailable;
    }
    const { source, description } = opened;
    const progress = new ProgressReporter({ stream: io.stdout, total: suite.jobs.length, poolReady: () => source.ready(), poolCapacity: source.capacity });
    let result: SuiteResult;
    let files: { results: string; junit: string };
    try {
      // Only once a source is had: a run that cannot start leaves the previous results alone.
      await prepareOutDir(args.outDir).catch((error: unknown) => {
        throw new UsageError(`--out ${args.outDir} cannot be used: ${errorMessage(error)}`);
      });
      if (source instanceof PoolSource) showCreationErrors(source, progress);
      const where = description.source === 'service' ? `the service at ${args.socket ?? ''}` : `an in-process ${description.backend ?? ''} pool of ${description.poolSize ?? 0}`;
      io.stdout.write(`Suite ${suite.name}: ${suite.jobs.length} jobs, ${args.concurrency} at once, containers from ${where}\n`);
      progress.start();
      result = await runSuite(suite, {
        source,
        concurrency: args.concurrency,
        outDir: args.outDir,
        checkoutTimeoutMs: args.checkoutTimeoutMs,
        signal: controller.signal,
        onEvent: progress.handle,
      });
      progress.stop();
      files = await writeResults(args.outDir, result, description);
    } finally {
      progress.stop();
      await source.close().catch((error: unknown) => io.stderr.write(`warmpool run: cleaning up the pool: ${errorMessage(error)}\n`));
    }
    progress.summary(result, files);
    return result.totals.passed === result.totals.jobs ? exitCodes.ok : exitCodes.failure;
  } finally {
    stopListening();
  }
}

export const command: CliCommand = {
  name: 'run',
  summary: 'Run a suite of test jobs, each in a fresh container; write results.json and junit.xml',
  help,
  run,
};
