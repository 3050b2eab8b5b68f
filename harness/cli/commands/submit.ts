import { parseArgs } from 'node:util';
import { errorMessage, InvalidOptionError } from '../../../lib/errors.js';
import { readHosts } from '../../lab/host-registry.js';
import { NoDefaultKindError, NoLiveHostError, RedisUnavailableError } from '../../lab/lab-errors.js';
import { labFlags, labFlagsHelp, labTarget } from '../../lab/lab-flags.js';
import { labRedis, probeRedis } from '../../lab/redis-client.js';
import { assignKinds } from '../../lab/submit-kinds.js';
import { enqueueSuite } from '../../lab/suite-flow.js';
import { readSuite } from '../../lab/suite-watch.js';
import { defaultOutDir } from '../../scheduler/run-settings.js';
import { UnknownJobKindError } from '../../scheduler/scheduler-errors.js';
import { loadSuiteFile, type Suite } from '../../scheduler/suite.js';
import { exitCodes, UsageError, type CliCommand, type CliIo } from '../command.js';
import { followLabSuite } from '../follow-lab-suite.js';

const help = `Usage: warmpool submit SUITE.json [--redis URL] [--detach] [--out DIR]

Runs a suite in a lab: its jobs go into the lab's Redis as one BullMQ flow (the suite the parent, each job a
child in its kind's queue) and the lab's workers (\`warmpool worker\`, one per host) run them, each in a fresh
container of its kind. It shows the progress as \`warmpool run\` does and, once every job has ended, writes the
same OUT/results.json (each job also with the host that ran it, its deliveries and infraRetries) and
OUT/junit.xml, and each attempt's stdout and stderr (up to 64 KiB each, the end of a longer one; its whole copy
and the artifacts are in the worker's --out on its host) under OUT/jobs/<job>/attempt-<n>/.

The suite is checked as \`warmpool run\` checks it, and every job's kind against the kinds of the live workers,
before anything is enqueued: an invalid suite, a field the format does not know, or a job naming a kind no live
worker has is refused (exit 2) and nothing is enqueued. A job naming no kind gets the workers' default kind
(their configs' first), when they all have the same.

A worker that dies under a job loses nothing: another runs it again, counted in the job's infraRetries, never
as a failure or a test retry. Delivery is at least once: a job may run twice, so what it does outside its
container must be idempotent.

Ctrl-C stops following, not the suite: it goes on in the lab, and \`warmpool results ID\` fetches its results.

Options:
${labFlagsHelp}
  --detach             Enqueue, print the suite id (alone, on stdout) and exit 0
  --out DIR            Where results go (default: ${defaultOutDir}/); the previous results.json, junit.xml and jobs/
                       are moved to DIR/previous/ first

Exit codes: 0 every job passed; 1 some job did not pass; 2 bad arguments, an invalid suite or a job of a kind
no live worker has (nothing was enqueued); 3 Redis does not answer, or no worker is alive.`;

function parseSubmitArguments(args: string[]): { suiteFile: string; detach: boolean; out: string | undefined; redis: string | undefined; prefix: string | undefined } {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { ...labFlags, detach: { type: 'boolean' }, out: { type: 'string' } } });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`give one suite file, got ${positionals.length}`);
  return { suiteFile: positionals[0] ?? '', detach: values.detach ?? false, out: values.out, redis: values.redis, prefix: values.prefix };
}

/** Says why nothing was enqueued; returns the exit code. */
function refused(io: CliIo, message: string, code: number = exitCodes.usage): number {
  io.stderr.write(`warmpool submit: ${message}\nNothing was enqueued.\n`);
  return code;
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseSubmitArguments(argv);
  const target = labTarget(args, 'submit');
  const url = target.redis.url;
  let suite: Suite;
  try {
    ({ suite } = await loadSuiteFile(args.suiteFile));
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    return refused(io, `invalid suite ${args.suiteFile}: ${error.message}`);
  }
  try {
    await probeRedis(url);
  } catch (error) {
    if (error instanceof RedisUnavailableError) return refused(io, error.message, exitCodes.unavailable);
    throw error;
  }

  const registry = labRedis(url, 'warmpool-submit-check', () => undefined);
  let suiteId: string;
  try {
    const hosts = await readHosts(registry, target.prefix);
    let kinded;
    try {
      kinded = assignKinds(suite, hosts);
    } catch (error) {
      if (error instanceof UnknownJobKindError || error instanceof NoDefaultKindError) return refused(io, `${args.suiteFile}: ${error.message}`);
      if (error instanceof NoLiveHostError) return refused(io, error.message, exitCodes.unavailable);
      throw error;
    }
    const live = hosts.filter((host) => host.alive);
    const capacity = live.reduce((sum, host) => sum + host.capacity, 0);
    suiteId = await enqueueSuite(url, target.prefix, kinded, capacity);
    const line = `Suite ${suite.name}: ${suite.jobs.length} jobs submitted to the lab as ${suiteId}; ${live.length} live host(s) (${live.map((host) => host.id).join(', ')}) take ${capacity} at once`;
    if (args.detach) {
      io.stderr.write(`${line}\n\`warmpool results ${suiteId}\` fetches its results\n`);
      io.stdout.write(`${suiteId}\n`);
      return exitCodes.ok;
    }
    io.stdout.write(`${line}\n`);
  } finally {
    registry.disconnect();
  }

  const { data } = await readSuite(url, target.prefix, suiteId);
  return followLabSuite(
    'submit',
    io,
    {
      stopping: (signal) => `warmpool submit: ${signal}: no longer following; suite ${suiteId} goes on in the lab (\`warmpool results ${suiteId}\`)`,
      quitting: () => `warmpool submit: quitting; \`warmpool results ${suiteId}\` fetches the results`,
    },
    { redisUrl: url, prefix: target.prefix, data, outDir: args.out ?? defaultOutDir, suiteFile: args.suiteFile },
  );
}

export const command: CliCommand = {
  name: 'submit',
  summary: 'Run a suite in a lab of workers (Redis, BullMQ); write results.json and junit.xml',
  help,
  run,
};
