import { Redis } from 'ioredis';

/**
 * Counts what this process sends to Redis, on the client side: BullMQ's Lua scripts run many Redis commands
 * inside one call, so Redis's own counters (INFO stats, commandstats) cannot tell the round trips a job costs.
 * Every ioredis command goes through `Redis.prototype.sendCommand` (a pipeline's or a MULTI's too, each with the
 * pipeline's stream), so wrapping it for the time of a measurement sees them all, BullMQ's included.
 */

export interface RedisCommandTally {
  /** Commands sent. */
  readonly commands: number;
  /** Round trips: each command sent alone, and each pipeline or MULTI once (sent in one write, answered together). */
  readonly roundTrips: number;
  /** Round trips by what they were: the command's name, a BullMQ script's name (`moveToFinished`), or `pipeline`. */
  readonly byName: ReadonlyMap<string, number>;
}

/** What the wrapper sees of an ioredis command and of the client sending it. */
interface SentCommand {
  readonly name: string;
  readonly args: readonly unknown[];
}
interface SendingClient {
  /** ioredis keeps the scripts defined on a client (BullMQ's, as `name:version`) here, each with its sha. */
  readonly scriptsSet?: Readonly<Record<string, { readonly sha?: string }>>;
}
type SendCommand = (this: SendingClient, command: SentCommand, stream?: unknown) => unknown;

/** A BullMQ script's name as its client defined it (`moveToFinished-14:6.7.0`), without the key count and version. */
export function scriptName(defined: string): string {
  return defined.replace(/:[^:]*$/, '').replace(/-[0-9]+$/, '');
}

/** The name a script call is tallied under: the name its sha was defined with on the sending client. */
function commandName(client: SendingClient, command: SentCommand, shas: Map<string, string>): string {
  if (command.name !== 'evalsha' && command.name !== 'eval') return command.name;
  const sha = command.args[0];
  if (typeof sha !== 'string') return command.name;
  let name = shas.get(sha);
  if (name === undefined) {
    for (const [defined, script] of Object.entries(client.scriptsSet ?? {})) if (script.sha !== undefined) shas.set(script.sha, scriptName(defined));
    name = shas.get(sha);
  }
  return name ?? command.name;
}

/**
 * Starts counting every command `target` (by default ioredis's Redis class) sends; `stop()` puts the original
 * back and returns the tally. One count at a time.
 */
export function countRedisCommands(target: { sendCommand: unknown } = Redis.prototype): { stop(): RedisCommandTally } {
  const original = target.sendCommand as SendCommand;
  const byName = new Map<string, number>();
  const pipelines = new WeakSet<object>();
  const shas = new Map<string, string>();
  let commands = 0;
  let roundTrips = 0;
  const tally = (name: string): void => {
    roundTrips++;
    byName.set(name, (byName.get(name) ?? 0) + 1);
  };
  const counting: SendCommand = function (command, stream) {
    commands++;
    const pipeline = typeof stream === 'object' && stream !== null && 'isPipeline' in stream ? stream : undefined;
    if (pipeline === undefined) tally(commandName(this, command, shas));
    else if (!pipelines.has(pipeline)) {
      pipelines.add(pipeline);
      tally('pipeline');
    }
    return original.call(this, command, stream);
  };
  target.sendCommand = counting;
  return {
    stop: () => {
      target.sendCommand = original;
      return { commands, roundTrips, byName };
    },
  };
}
