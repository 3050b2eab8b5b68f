import { parseFlags, parseIntegerFlag, socketFlags, socketFromFlags, socketHelp } from '../../service/cli-flags.js';
import { withClient } from '../with-client.js';
import { exitCodes, type CliCommand } from '../command.js';

const defaultTimeoutMs = 60_000;

const help = `Usage: warmpool get [--socket PATH | --pool-id ID] [--kind NAME] [--timeout-ms N] [--keep]

Checks out a container from the pool service and prints its descriptor as one JSON line:
{"backend":"docker","id":"…","name":"…"} (LXC adds "lxcpath").

Without --keep the container belongs to this command and is destroyed when it exits, which makes it a quick
check that the service hands out containers. With --keep it stays until released (by a client that names it)
or reaped after the service has gone: run commands in it with docker exec / lxc-attach.

Options:
${socketHelp}
  --kind NAME          The kind of container (one of the service's kinds; \`warmpool status\` lists them).
                       Default: the service's first kind
  --timeout-ms N       Wait at most N ms for a ready container (0: do not wait; Infinity: wait until one is
                       ready). Default: ${defaultTimeoutMs}
  --keep               Keep the container after this command exits

Exit codes: 0 printed a container; 1 none was ready in time (or the service refused); 2 bad options;
3 no service answers on the socket.
`;

export const command: CliCommand = {
  name: 'get',
  summary: 'Check out a container and print its descriptor as JSON',
  help,
  async run(args, io) {
    const flags = parseFlags(args, { ...socketFlags, 'timeout-ms': { type: 'string' }, keep: { type: 'boolean' }, kind: { type: 'string' } });
    const socketPath = socketFromFlags(flags);
    const timeoutText = flags['timeout-ms'];
    const timeoutMs = timeoutText === undefined ? defaultTimeoutMs : parseIntegerFlag('--timeout-ms', timeoutText, { min: 0, allowInfinity: true });
    return withClient('get', socketPath, io, async (client) => {
      const container = await client.get({ timeoutMs, keep: flags.keep ?? false, ...(flags.kind === undefined ? {} : { kind: flags.kind }) });
      if (container === null) {
        io.stderr.write(`warmpool get: no container was ready within ${timeoutMs} ms\n`);
        return exitCodes.failure;
      }
      io.stdout.write(`${JSON.stringify(container.describe())}\n`);
      return exitCodes.ok;
    });
  },
};
