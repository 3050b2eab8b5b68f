import type { ServiceStatus } from '../../service/protocol.js';
import { parseFlags, socketFlags, socketFromFlags, socketHelp } from '../../service/cli-flags.js';
import { withClient } from '../with-client.js';
import { exitCodes, type CliCommand } from '../command.js';

const help = `Usage: warmpool status [--socket PATH | --pool-id ID] [--json]

Shows the pool service's state: ready containers, creations in flight, waiting clients, containers handed out,
the engine's state, dead containers replaced, removals still pending, queued errors, clients; then one line per
kind: ready, target (what demand asks for now) within min-max, creating, waiting, paused, held, the age of its
oldest ready container.

Options:
${socketHelp}
  --json               One JSON object instead of the table

Exit codes: 0 ok; 2 bad options; 3 no service answers on the socket.
`;

export const command: CliCommand = {
  name: 'status',
  summary: "Show the pool service's state",
  help,
  async run(args, io) {
    const flags = parseFlags(args, { ...socketFlags, json: { type: 'boolean' } });
    const socketPath = socketFromFlags(flags);
    return withClient('status', socketPath, io, async (client) => {
      const status = await client.status();
      io.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : formatStatus(status));
      return exitCodes.ok;
    });
  },
};

export function formatStatus(status: ServiceStatus): string {
  const rows: [string, string][] = [
    ['pool', `${status.poolId} (${status.backend})`],
    ['ready', `${status.ready} of ${status.capacity}`],
    ['creating', String(status.workers)],
    ['waiting', String(status.waiting)],
    ['held', `${status.held}${status.kept > 0 ? ` (${status.kept} kept)` : ''}`],
    ['engine', status.engine === 'available' ? 'available' : `unavailable: creation paused, probing${status.setAside > 0 ? `; ${status.setAside} ready set aside` : ''}`],
    ['deaths', `${status.deaths} ready container(s) found dead and replaced`],
    ['throttled', status.throttled ? 'yes: too many creations failed in the last hour' : 'no'],
    ['errors', `${status.errors} queued${status.errorsDropped > 0 ? `, ${status.errorsDropped} dropped` : ''} (warmpool errors)`],
    ['clients', `${status.connections} (at most ${status.maxConnections})`],
    ['removing', `${status.pendingRemovals}${status.pendingRemovals > 0 ? ' (a failed removal is retried until it succeeds)' : ''}`],
    ['pid', String(status.pid)],
    ['metrics', status.metricsUrl ?? 'off'],
  ];
  return rows.map(([key, value]) => `${key.padEnd(10)} ${value}\n`).join('') + formatKinds(status);
}

/** One row per kind, in the config's order (the first is the default kind). */
function formatKinds(status: ServiceStatus): string {
  const header = ['kind', 'backend', 'ready', 'target', 'min-max', 'creating', 'waiting', 'paused', 'held', 'oldest'];
  const rows = status.kinds.map((kind) => [
    `${kind.name}${kind.rollingOver ? ' (rolling over)' : ''}`,
    kind.backend,
    String(kind.ready),
    String(kind.target),
    `${kind.min}-${kind.max}`,
    String(kind.creating),
    String(kind.waiting),
    String(kind.paused),
    String(kind.held),
    kind.ready === 0 ? '-' : formatAge(kind.oldestAgeMs),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: string[]): string => `${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}\n`;
  return `\n${line(header)}${rows.map(line).join('')}`;
}

function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 3_600_000)}h`;
}
