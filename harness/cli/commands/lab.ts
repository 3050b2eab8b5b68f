import { parseFlags } from '../../command-flags.js';
import { RedisUnavailableError } from '../../lab/lab-errors.js';
import { labFlags, labFlagsHelp, labTarget } from '../../lab/lab-flags.js';
import { formatLabStatus, labStatus } from '../../lab/lab-status.js';
import { labRedis, probeRedis } from '../../lab/redis-client.js';
import { exitCodes, UsageError, type CliCommand } from '../command.js';

const help = `Usage: warmpool lab status [--redis URL] [--json]

Shows a lab: every host that registered (alive, stopping, stopped, or DEAD when its heartbeat expired without
it stopping; its kinds with the jobs of each it takes at once, capacity, jobs running and ready containers at
its last heartbeat), each kind's queue (jobs waiting, running, completed, failed by BullMQ; live hosts taking
it and their capacity), and the suites in flight (jobs done of all).

Options:
${labFlagsHelp}
  --json               One JSON object {prefix, hosts, queues, suites} instead of the tables

Exit codes: 0 ok; 2 bad options; 3 Redis does not answer.`;

export const command: CliCommand = {
  name: 'lab',
  summary: 'Show a lab of workers: hosts alive or not, queue depths per kind, suites in flight',
  help,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub !== 'status') throw new UsageError(`give a subcommand: \`warmpool lab status\`${sub === undefined ? '' : `, got ${JSON.stringify(sub)}`}`);
    const flags = parseFlags(rest, { ...labFlags, json: { type: 'boolean' } });
    const target = labTarget(flags, 'lab');
    try {
      await probeRedis(target.redis.url);
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      io.stderr.write(`warmpool lab: ${error.message}\n`);
      return exitCodes.unavailable;
    }
    const redis = labRedis(target.redis.url, 'warmpool-lab-status', () => undefined);
    try {
      const status = await labStatus(target.redis.url, redis, target.prefix);
      io.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : formatLabStatus(status));
      return exitCodes.ok;
    } finally {
      redis.disconnect();
    }
  },
};
