import { parseArgs } from 'node:util';
import { errorMessage } from '../../../lib/errors.js';
import { RedisUnavailableError, SuiteNotFoundError } from '../../lab/lab-errors.js';
import { labFlags, labFlagsHelp, labTarget } from '../../lab/lab-flags.js';
import { checkSuiteId } from '../../lab/lab-keys.js';
import { probeRedis } from '../../lab/redis-client.js';
import { pendingStates, readSuite } from '../../lab/suite-watch.js';
import { defaultOutDir } from '../../scheduler/run-settings.js';
import { exitCodes, UsageError, type CliCommand, type CliIo } from '../command.js';
import { followLabSuite } from '../follow-lab-suite.js';

const help = `Usage: warmpool results SUITE_ID [--redis URL] [--out DIR] [--no-wait]

Fetches the results of a suite submitted to a lab (\`warmpool submit --detach\` printed its id): waits for the
jobs still pending, showing their progress, then writes OUT/results.json, OUT/junit.xml and the jobs' logs as
\`warmpool submit\` does. Finished suites are kept in the lab for 7 days.

Options:
${labFlagsHelp}
  --out DIR            Where results go (default: ${defaultOutDir}/)
  --no-wait            Do not wait: write the results if the suite is over, else say what is pending and exit 1

Exit codes: 0 every job passed; 1 some job did not pass, or (--no-wait) the suite is not over; 2 bad arguments
or no such suite; 3 Redis does not answer.`;

async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...labFlags, out: { type: 'string' }, 'no-wait': { type: 'boolean' } } });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`give one suite id, got ${positionals.length}`);
  const suiteId = checkSuiteId(positionals[0] ?? '');
  const target = labTarget(values, 'results');
  const url = target.redis.url;
  let found;
  try {
    await probeRedis(url);
    found = await readSuite(url, target.prefix, suiteId);
  } catch (error) {
    if (error instanceof RedisUnavailableError) {
      io.stderr.write(`warmpool results: ${error.message}\n`);
      return exitCodes.unavailable;
    }
    if (error instanceof SuiteNotFoundError) {
      io.stderr.write(`warmpool results: ${error.message}\n`);
      return exitCodes.usage;
    }
    throw error;
  }
  const { data, finished } = found;
  const total = data.jobs.length;
  if (finished < total) {
    const states = await pendingStates(url, target.prefix, data);
    const pending = Object.entries(states)
      .map(([state, count]) => `${count} ${state}`)
      .join(', ');
    const line = `suite ${suiteId} (${data.name}): ${finished} of ${total} jobs done; pending: ${pending || 'none'}`;
    if (values['no-wait']) {
      io.stdout.write(`${line}\n`);
      return exitCodes.failure;
    }
    io.stdout.write(`${line}; waiting\n`);
  }
  return followLabSuite(
    'results',
    io,
    {
      stopping: (signal) => `warmpool results: ${signal}: no longer waiting; suite ${suiteId} goes on in the lab`,
      quitting: () => 'warmpool results: quitting',
    },
    { redisUrl: url, prefix: target.prefix, data, outDir: values.out ?? defaultOutDir },
  );
}

export const command: CliCommand = {
  name: 'results',
  summary: 'Fetch (or wait for) the results of a suite submitted to a lab',
  help,
  run,
};
