import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { validatePoolId } from '../../../lib/backends/owner.js';
import { InvalidOptionError, errorMessage } from '../../../lib/errors.js';
import { isBackendName } from '../../backend.js';
import { ConfigFileError } from '../../config/lab-config.js';
import { defaultMaxOutageWaitMs, PoolSource } from '../../scheduler/container-source.js';
import { HostSource } from '../../scheduler/host-source.js';
import { checkJobKinds } from '../../scheduler/job-kinds.js';
import { readJournal, type JournalContents } from '../../scheduler/journal.js';
import { OutDirUnusableError, runJournaled } from '../../scheduler/journaled-run.js';
import { ProgressReporter } from '../../scheduler/progress.js';
import { previousDirName, type RunDescription } from '../../scheduler/results-writer.js';
import { describePlan, openSource, planSource, plannedKinds, reapEarlierRuns, reapHint, type OpenedSource, type SourcePlan } from '../../scheduler/run-source.js';
import { assertSameSuite, jobsToRun } from '../../scheduler/resume.js';
import {
  defaultConcurrency,
  defaultOutDir,
  defaultPoolId,
  journaledSettings,
  resolveRunSettings,
  type RunArguments,
  type RunSettings,
} from '../../scheduler/run-settings.js';
import { defaultCheckoutTimeoutMs } from '../../scheduler/scheduler.js';
import { JournalUnusableError, SuiteChangedError, UnknownJobKindError } from '../../scheduler/scheduler-errors.js';
import { loadSuiteFile, suiteFileSha256, type Suite } from '../../scheduler/suite.js';
import { ServiceUnavailableError } from '../../service/service-errors.js';
import { exitCodes, UsageError, type CliCommand, type CliIo } from '../command.js';
import { interruptOnSignals } from '../interrupt.js';

const help = `Usage: warmpool run SUITE.json [options]
       warmpool run [SUITE.json] --resume OUT [options]

Runs a suite of test jobs, each in a fresh container: copies its files in, runs its command with its env and
timeout, saves stdout, stderr and its artifacts, removes the container. Each job's result is written to
OUT/journal.jsonl and flushed to the disk as it ends; at the end OUT/results.json and OUT/junit.xml are built
from the journal and a summary table is printed.

Options:
  --config FILE.json          A host config (as \`warmpool serve --config\` reads): the in-process pools are its
                              kinds, each sized by demand under the host's caps; a job's "kind" picks one (the
                              first kind when it names none). Not with --backend, --size, --pool-id or --socket
  --backend docker|lxc        Backend of the in-process pool (default: docker)
  --size N                    Containers the in-process pool keeps ready (default: the concurrency, at most
                              the number of jobs)
  --concurrency K             Jobs at once (default: the cores this process may use, ${defaultConcurrency} here)
  --out DIR                   Where results go (default: ${defaultOutDir}/); the previous run's results.json,
                              junit.xml, journal.jsonl and jobs/ are moved to DIR/${previousDirName}/ first (the set
                              that was there is replaced)
  --resume OUT                Complete the run whose journal is in OUT (killed, interrupted, or cut short):
                              runs only the jobs without a result (cancelled ones included), then writes
                              results.json and junit.xml for the whole suite. The suite file defaults to the
                              journaled one and must be byte for byte the same; the other options default to
                              the journaled run's
  --socket PATH               Check containers out of a running \`warmpool serve\` instead of a pool of its own
  --docker-socket PATH        With --socket: the Docker engine the service's containers are on
                              (default: the fixture engine)
  --pool-id ID                Pool id of the in-process pool's containers (default: ${defaultPoolId}). Containers
                              of this pool id left by an earlier run that was killed are removed at start (with
                              --config: of each kind's pool id)
  --checkout-timeout-ms MS    How long a job waits for a container before it ends \`error\`
                              (default: ${defaultCheckoutTimeoutMs}); time the in-process pool's engine cannot be
                              reached does not count, up to ${defaultMaxOutageWaitMs / 60_000} minutes

Kinds: a job may name the "kind" of container it runs in. Without --config there is one kind, "default"; with
--socket the service's kinds. A job naming a kind the source does not have stops the run before anything runs.
Each job's kind is in results.json and in junit.xml (a "kind" property of its testcase).

Statuses: passed (exit 0), failed (other exit code), timeout (killed with its container), error (no container,
or the infrastructure failed, e.g. the engine killed the container under the command; failed and error jobs are
retried per their \`retries\`), cancelled (interrupted). A container found dead at first use is replaced at once
and noted in the job's result; it does not count as an attempt.
Ctrl-C or SIGTERM stops the run: running jobs are stopped and their containers removed, the pool is cleaned
up and the results are written; a second Ctrl-C quits at once (\`--resume\` completes the run later).

Exit codes: 0 every job passed and every container was removed; 1 some job did not pass, or containers could
not be removed (they are listed); 2 bad arguments, an invalid suite or config, a job of an unknown kind, or
nothing to resume (nothing was started);
3 no service answers on --socket.`;

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
        resume: { type: 'string' },
        socket: { type: 'string' },
        'docker-socket': { type: 'string' },
        'pool-id': { type: 'string' },
        'checkout-timeout-ms': { type: 'string' },
        config: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`give one suite file, got ${positionals.length}`);
  if (positionals.length === 0 && values.resume === undefined) throw new UsageError('give the suite file to run');
  if (values.resume !== undefined && values.out !== undefined && resolve(values.resume) !== resolve(values.out)) {
    throw new UsageError('--resume OUT writes to OUT: give --out only if it is the same directory');
  }
  const backend = values.backend;
  if (backend !== undefined && !isBackendName(backend)) throw new UsageError(`--backend must be docker or lxc, got ${JSON.stringify(backend)}`);
  if (values.config !== undefined) {
    for (const flag of ['backend', 'size', 'pool-id', 'socket'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} cannot go with --config: the config file's kinds and host decide where containers come from`);
    }
  }
  if (values.config === '') throw new UsageError('--config needs a file');
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
    resume: values.resume,
    backend,
    size: positiveInteger('size', values.size),
    concurrency: positiveInteger('concurrency', values.concurrency),
    outDir: values.out,
    socket: values.socket,
    dockerSocket: values['docker-socket'],
    // Checked here, not when the pool starts: by then the output directory would already be in use.
    poolId: values['pool-id'] === undefined ? undefined : validatePoolId(values['pool-id']),
    checkoutTimeoutMs: checkoutText === undefined ? undefined : Number(checkoutText),
    config: values.config,
  };
}

/** How many distinct creation errors are shown: enough to say why jobs wait, not a flood. */
const shownCreationErrors = 3;

/** Tells the user why jobs wait when the pool cannot create containers (the engine is down, the image is missing). */
function showCreationErrors(source: PoolSource | HostSource, progress: ProgressReporter): void {
  const seen = new Set<string>();
  const pool = (kind: string): string => (source instanceof HostSource ? `kind ${kind}` : 'pool');
  source.onCreationError((error, kind) => {
    const line = `${pool(kind)}: a container creation failed: ${error.message}`;
    if (seen.has(line) || seen.size >= shownCreationErrors) return;
    seen.add(line);
    progress.note(line);
  });
}

/** Says why nothing was run, for the refusals that exit 2 after the suite was read; returns the exit code. */
function nothingRun(io: CliIo, message: string): number {
  io.stderr.write(`warmpool run: ${message}\nNothing was run.\n`);
  return exitCodes.usage;
}

/** The journal of the run to resume, or the exit code after saying why there is none. */
async function journalToResume(outDir: string, io: CliIo): Promise<JournalContents | number> {
  try {
    return await readJournal(outDir);
  } catch (error) {
    if (!(error instanceof JournalUnusableError)) throw error;
    io.stderr.write(`warmpool run: ${error.message}\nNothing was run.\n`);
    return exitCodes.usage;
  }
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseRunArguments(argv);
  let journal: JournalContents | undefined;
  if (args.resume !== undefined) {
    const found = await journalToResume(args.resume, io);
    if (typeof found === 'number') return found;
    journal = found;
  }
  const lastRun = journal?.runs.at(-1);
  const settings = resolveRunSettings(args, lastRun === undefined ? undefined : { suiteFile: journal?.runs[0]?.suiteFile ?? lastRun.suiteFile, settings: lastRun.settings });

  let suite: Suite;
  let suiteSha256: string;
  try {
    // Compared first: a suite edited since, valid or not, is refused as another suite.
    if (journal !== undefined) assertSameSuite(journal, settings.suiteFile, await suiteFileSha256(settings.suiteFile));
    ({ suite, sha256: suiteSha256 } = await loadSuiteFile(settings.suiteFile));
  } catch (error) {
    if (error instanceof SuiteChangedError) {
      io.stderr.write(`warmpool run: ${error.message}\nNothing was run.\n`);
      return exitCodes.usage;
    }
    if (!(error instanceof InvalidOptionError)) throw error;
    // The suite's own message names the job and field; the command's help would only bury it.
    io.stderr.write(`warmpool run: invalid suite ${settings.suiteFile}: ${error.message}\nNothing was run.\n`);
    return exitCodes.usage;
  }
  const toRun = journal === undefined ? suite : jobsToRun(suite, journal);

  let plan: SourcePlan;
  try {
    plan = planSource(settings, toRun.jobs.length);
    // Kinds known before anything is made (one, or the config's) are checked before anything is made.
    const kinds = plannedKinds(plan);
    if (kinds !== undefined) checkJobKinds(toRun, kinds);
  } catch (error) {
    if (error instanceof ConfigFileError) return nothingRun(io, error.message);
    if (error instanceof UnknownJobKindError) return nothingRun(io, `${settings.suiteFile}: ${error.message}`);
    throw error;
  }

  const controller = new AbortController();
  // The scheduler stops jobs and removes their containers; we clean up and write results.
  const stopListening = interruptOnSignals(controller, io, {
    stopping: (signal) => `warmpool run: ${signal}: stopping jobs, removing their containers (${signal} again to quit at once)`,
    quitting: (signal) =>
      `warmpool run: ${signal} again, quitting now; \`warmpool run --resume ${settings.outDir}\` completes the run and removes what was left behind`,
    quitExitCode: 130,
  });
  try {
    // Before the pools start creating: what a killed run of these pool ids left goes first.
    await reapEarlierRuns(plan, {
      removed: (line) => io.stdout.write(`${line}\n`),
      failed: (line) => io.stderr.write(`warmpool run: ${line}\n`),
    });
    let opened: OpenedSource | undefined;
    if (toRun.jobs.length > 0) {
      try {
        opened = await openSource(plan, { suiteFile: settings.suiteFile, checkoutTimeoutMs: settings.checkoutTimeoutMs }, controller.signal);
      } catch (error) {
        if (!(error instanceof ServiceUnavailableError)) throw error;
        io.stderr.write(`warmpool run: ${error.message}\nNothing was run.\n`);
        return exitCodes.unavailable;
      }
      // A service tells its kinds only once connected; nothing has run yet, and the previous results stay.
      const kinds = opened.source.kinds;
      if (kinds !== undefined && plannedKinds(plan) === undefined) {
        try {
          checkJobKinds(toRun, kinds);
        } catch (error) {
          await opened.source.close();
          if (error instanceof UnknownJobKindError) return nothingRun(io, `${settings.suiteFile}: ${error.message}`);
          throw error;
        }
      }
    }
    return await runWithSource(settings, plan, { suite, suiteSha256, toRun, journal }, opened, controller.signal, io);
  } finally {
    stopListening();
  }
}

interface SuiteToRun {
  readonly suite: Suite;
  readonly suiteSha256: string;
  /** The jobs this run runs: the whole suite, or with --resume those without a result. */
  readonly toRun: Suite;
  readonly journal: JournalContents | undefined;
}

async function runWithSource(
  settings: RunSettings,
  plan: SourcePlan,
  what: SuiteToRun,
  opened: OpenedSource | undefined,
  signal: AbortSignal,
  io: CliIo,
): Promise<number> {
  const source = opened?.source;
  const description: RunDescription = opened?.description ?? { suiteFile: settings.suiteFile, checkoutTimeoutMs: settings.checkoutTimeoutMs };
  const progress = new ProgressReporter({
    stream: io.stdout,
    total: what.toRun.jobs.length,
    poolReady: () => source?.ready() ?? 0,
    // Read as the bar is drawn: the pools of a config are sized by demand.
    poolCapacity: () => source?.capacity ?? 0,
  });
  if (source instanceof PoolSource || source instanceof HostSource) showCreationErrors(source, progress);
  let run;
  try {
    run = await runJournaled({
      suite: what.suite,
      suiteFile: resolve(settings.suiteFile),
      suiteSha256: what.suiteSha256,
      toRun: what.toRun,
      ...(what.journal ? { resumed: what.journal } : {}),
      outDir: settings.outDir,
      source,
      description,
      settings: journaledSettings(settings, description.poolSize),
      concurrency: settings.concurrency,
      checkoutTimeoutMs: settings.checkoutTimeoutMs,
      signal,
      progress,
      say: (line) => progress.note(`warmpool run: ${line}`),
      onStart: () => io.stdout.write(`${introduction(settings, what, opened === undefined ? undefined : plan)}\n`),
    });
  } catch (error) {
    // Only once a source is had: a run that cannot start leaves the previous results alone.
    if (error instanceof OutDirUnusableError) throw new UsageError(`--out ${error.message}`);
    throw error;
  }
  const { result, files } = run;
  progress.summary(result, files);
  const { leftBehind } = result;
  if (leftBehind.length > 0) {
    const reap = reapHint(plan);
    io.stderr.write(`warmpool run: ${leftBehind.length} container(s) could not be removed and are still on the engine: ${leftBehind.map((left) => left.name).join(', ')}; ${reap}\n`);
  }
  return result.totals.passed === result.totals.jobs && leftBehind.length === 0 ? exitCodes.ok : exitCodes.failure;
}

function introduction(settings: RunSettings, what: SuiteToRun, plan: SourcePlan | undefined): string {
  const where = plan === undefined ? 'none: nothing is left to run' : describePlan(plan);
  const { suite, toRun, journal } = what;
  if (journal === undefined) return `Suite ${suite.name}: ${suite.jobs.length} jobs, ${settings.concurrency} at once, containers from ${where}`;
  const done = suite.jobs.length - toRun.jobs.length;
  return `Resuming suite ${suite.name} in ${settings.outDir}: ${done} of ${suite.jobs.length} jobs have results; running the other ${toRun.jobs.length}, ${settings.concurrency} at once, containers from ${where}`;
}

export const command: CliCommand = {
  name: 'run',
  summary: 'Run a suite of test jobs, each in a fresh container; journal each result; write results.json and junit.xml',
  help,
  run,
};
