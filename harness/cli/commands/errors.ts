import type { ServiceErrorEntry } from '../../service/protocol.js';
import { parseFlags, socketFlags, socketFromFlags, socketHelp } from '../../service/cli-flags.js';
import { withClient } from '../with-client.js';
import { exitCodes, type CliCommand } from '../command.js';

const help = `Usage: warmpool errors [--socket PATH | --pool-id ID] [--json]

Drains the pool service's error queue: the failed or timed-out creations and failed destroys since the last
call, oldest first (the service logs each one too, and keeps at most 1000 for this command).

Options:
${socketHelp}
  --json               One JSON array of {code, message, at} (at: ms since the epoch)

Exit codes: 0 no errors; 1 errors were reported; 2 bad options; 3 no service answers on the socket.
`;

export const command: CliCommand = {
  name: 'errors',
  summary: "Drain and print the pool service's errors",
  help,
  async run(args, io) {
    const flags = parseFlags(args, { ...socketFlags, json: { type: 'boolean' } });
    const socketPath = socketFromFlags(flags);
    return withClient('errors', socketPath, io, async (client) => {
      const errors = await client.errors();
      io.stdout.write(flags.json ? `${JSON.stringify(errors)}\n` : formatErrors(errors));
      return errors.length === 0 ? exitCodes.ok : exitCodes.failure;
    });
  },
};

export function formatErrors(errors: readonly ServiceErrorEntry[]): string {
  if (errors.length === 0) return 'no errors\n';
  return errors.map((entry) => `${new Date(entry.at).toISOString()}  ${entry.code}  ${entry.message}\n`).join('');
}
