import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseFlags, parseIntegerFlag, socketFlags, socketFromFlags, socketHelp } from '../../service/cli-flags.js';
import { withClient } from '../with-client.js';
import { exitCodes, type CliCommand } from '../command.js';

const defaultTimeoutMs = 120_000;

const help = `Usage: warmpool stop [--socket PATH | --pool-id ID] [--timeout-ms N]

Asks the pool service to shut down and waits until it has: waiting clients refused, ready containers and
handed-out ones not kept destroyed, the socket removed.

Options:
${socketHelp}
  --timeout-ms N       Give up waiting after N ms. Default: ${defaultTimeoutMs}

Exit codes: 0 stopped; 1 it did not finish in time, or it could not remove every container (they are named);
2 bad options; 3 no service answers on the socket.
`;

export const command: CliCommand = {
  name: 'stop',
  summary: 'Shut the pool service down and wait for it',
  help,
  async run(args, io) {
    const flags = parseFlags(args, { ...socketFlags, 'timeout-ms': { type: 'string' } });
    const socketPath = socketFromFlags(flags);
    const timeoutText = flags['timeout-ms'];
    const timeoutMs = timeoutText === undefined ? defaultTimeoutMs : parseIntegerFlag('--timeout-ms', timeoutText, { min: 1 });
    const deadline = Date.now() + timeoutMs;
    return withClient('stop', socketPath, io, async (client) => {
      // The service answers once it has cleaned up; the wait for the socket file covers the rest.
      const answer = await Promise.race([client.shutdown(), sleep(timeoutMs, 'timeout' as const, { ref: false })]);
      if (answer === 'timeout') {
        io.stderr.write(`warmpool stop: the service did not finish shutting down within ${timeoutMs} ms\n`);
        return exitCodes.failure;
      }
      while (await exists(socketPath)) {
        if (Date.now() > deadline) {
          io.stderr.write(`warmpool stop: ${socketPath} is still there after ${timeoutMs} ms\n`);
          return exitCodes.failure;
        }
        await sleep(50);
      }
      io.stdout.write(`stopped: destroyed ${answer.destroyed} handed-out container(s), left ${answer.kept} kept\n`);
      const notRemoved = answer.notRemoved ?? [];
      if (notRemoved.length > 0) {
        io.stderr.write(`warmpool stop: the service could not remove ${notRemoved.length} container(s): ${notRemoved.join(', ')}; \`warmpool reap\` removes them\n`);
        return exitCodes.failure;
      }
      return exitCodes.ok;
    });
  },
};

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
