import { resolve } from 'node:path';
import { EngineUnavailableError } from '../../../lib/errors.js';
import { backendNames, isBackendName, type BackendName } from '../../backend.js';
import { defaultNoticeGraceMs, fullScale, shortScale } from '../../faults/fault-context.js';
import { faultReportDocument, formatFaultReport, writeFaultReport } from '../../faults/fault-report.js';
import { runFaults, type BackendFaultReport } from '../../faults/fault-suite.js';
import { scenarioIds } from '../../faults/scenarios/index.js';
import { parseFlags } from '../../command-flags.js';
import { UsageError } from '../../usage-error.js';
import { exitCodes, type CliCommand, type CliIo } from '../command.js';
import { interruptOnSignals } from '../interrupt.js';

const defaultJsonFile = 'results/faults.json';

const help = `Usage: warmpool faults --backend docker|lxc [--backend ...] [--short] [--json FILE] [--only ID,...]

Injects faults into real engines and measures what the pool, \`warmpool run\` and \`warmpool serve\` lose. Each
scenario has its own pool id; it counts what is left on the engine, then removes it.

Scenarios (${scenarioIds.join(', ')}):
  pooled-kill       ready containers killed behind the pool's back during a job loop (Docker: kill, rm -f;
                    LXC: lxc-stop -k, lxc-destroy, kill -9 of init)
  engine-restart    Docker: a second private dockerd (fixtures/engines/fault-dockerd.sh, never the shared one)
                    stopped by its pidfile and started again under \`warmpool run\`; LXC: every container of a
                    pool stopped at once under a job loop
  serve-sigkill     \`warmpool serve\` SIGKILLed during creations, then started again with the same pool id
  run-sigkill       \`warmpool run\` SIGKILLed mid-suite, then \`warmpool reap\` (and --resume if the CLI has it)
  bad-clients       slow, silent, half-line, garbage, never-reading and greedy clients, and more connections
                    than the cap, while a normal client is served
  hanging-factory   a factory whose creations hang and ignore their signal, under a short creation timeout

Figures per scenario: faults injected, jobs run, jobs without a result, jobs failed by infrastructure, dead
containers handed out, containers left on the engine, service requests answered after the faults. "Lost" are:
jobs without a result, dead containers handed out (a checkout ${defaultNoticeGraceMs} ms or more after the death or the
engine's return; sooner ones are reported apart), containers left.

Options:
  --backend docker|lxc   Required; repeat it to run both, one after the other
  --short                Each fault once or twice, small suites (${shortScale.jobs} jobs; the full run: ${fullScale.jobs} jobs,
                         ${fullScale.rounds} rounds, ${fullScale.outageMs / 1000} s outages). npm test runs this.
  --json FILE            Where the JSON goes (default: ${defaultJsonFile})
  --only ID,...          Run only these scenarios

Exit codes: 0 every lost figure is 0; 1 something was lost (or a scenario failed); 2 bad options; 3 an engine
could not be reached.`;

interface FaultsArguments {
  readonly backends: readonly BackendName[];
  readonly short: boolean;
  readonly jsonFile: string;
  readonly only: readonly string[] | undefined;
}

export function parseFaultsArguments(args: string[]): FaultsArguments {
  const values = parseFlags(args, { backend: { type: 'string', multiple: true }, short: { type: 'boolean' }, json: { type: 'string' }, only: { type: 'string' } });
  const backends = values.backend ?? [];
  if (backends.length === 0) throw new UsageError(`--backend is required: one of ${backendNames.join(', ')}`);
  for (const backend of backends) {
    if (!isBackendName(backend)) throw new UsageError(`--backend must be one of ${backendNames.join(', ')}, got ${JSON.stringify(backend)}`);
  }
  const only = values.only?.split(',').map((id) => id.trim());
  for (const id of only ?? []) {
    if (!scenarioIds.includes(id)) throw new UsageError(`--only: unknown scenario ${JSON.stringify(id)}; scenarios: ${scenarioIds.join(', ')}`);
  }
  if (values.json === '') throw new UsageError('--json needs a file name');
  return { backends: [...new Set(backends)] as BackendName[], short: values.short ?? false, jsonFile: values.json ?? defaultJsonFile, only };
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseFaultsArguments(argv);
  const controller = new AbortController();
  const stopListening = interruptOnSignals(controller, io, {
    stopping: (signal) => `warmpool faults: ${signal}: stopping after cleaning up (${signal} again to quit at once)`,
    quitting: (signal) => `warmpool faults: ${signal} again, quitting; \`warmpool reap --force --pool-id flt-...\` removes what is left`,
    quitExitCode: 130,
  });
  const runs: BackendFaultReport[] = [];
  try {
    for (const backend of args.backends) {
      if (controller.signal.aborted) break;
      let report: BackendFaultReport;
      try {
        report = await runFaults({
          backend,
          short: args.short,
          ...(args.only ? { only: args.only } : {}),
          signal: controller.signal,
          log: (line) => io.stderr.write(`faults: ${line}\n`),
        });
      } catch (error) {
        if (!(error instanceof EngineUnavailableError)) throw error;
        io.stderr.write(`warmpool faults: ${error.message}\n`);
        return exitCodes.unavailable;
      }
      runs.push(report);
      io.stdout.write(`${formatFaultReport(report)}\n\n`);
    }
    const document = faultReportDocument(['warmpool', 'faults', ...argv].join(' '), runs);
    const out = resolve(args.jsonFile);
    await writeFaultReport(out, document);
    io.stdout.write(`wrote ${out}\n`);
    return document.clean && !controller.signal.aborted ? exitCodes.ok : exitCodes.failure;
  } finally {
    stopListening();
  }
}

export const command: CliCommand = {
  name: 'faults',
  summary: 'Inject faults (kills, engine restarts, SIGKILLs, bad clients, hung creations) and count what is lost',
  help,
  run,
};
