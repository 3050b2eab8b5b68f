import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { errorMessage, InvalidOptionError } from '../../../lib/errors.js';
import { createLogger, isLogLevel } from '../../../lib/logger.js';
import { redactText } from '../../../lib/redact.js';
import { parseFlags } from '../../command-flags.js';
import { loadLabConfig } from '../../config/lab-config.js';
import { HostIdTakenError } from '../../lab/host-registry.js';
import { RedisUnavailableError } from '../../lab/lab-errors.js';
import { labFlags, labFlagsHelp, labTarget, millisecondsFlag } from '../../lab/lab-flags.js';
import { checkHostId, hostIdFromHostname } from '../../lab/lab-keys.js';
import { labTiming } from '../../lab/lab-timing.js';
import { LabWorker } from '../../lab/lab-worker.js';
import { defaultCheckoutTimeoutMs } from '../../scheduler/scheduler.js';
import { exitCodes, UsageError, type CliCommand } from '../command.js';
import { interruptOnSignals } from '../interrupt.js';

const defaultGraceMs = 30_000;

const help = `Usage: warmpool worker --config lab.json [--redis URL] [--host-id ID] [--grace-ms N] [options]

One host of a lab: keeps the kinds of a host config warm (as \`warmpool serve --config\` does) and runs the jobs
\`warmpool submit\` puts in the lab's Redis (BullMQ), each in a fresh container of its kind. It takes jobs only
from the queues of its kinds, as many at once as each kind's pool can serve (its max; cut in proportion when
the kinds' maxes add up to more than host.maxContainers). A job's result (status, exit code, times, each
attempt's stdout and stderr up to 64 KiB each, cut at the front and marked) goes back through Redis, and the
submitter writes those logs; the artifacts, and the whole copy of any log the cap cut, stay in --out.

It registers the host (id, kinds, capacity, jobs running, a heartbeat that expires after ${labTiming.aliveTtlMs / 1000} s) for
\`warmpool lab status\`. On start it removes what a killed worker of its pool ids left on the engines.

A host that dies (SIGKILL, a crash, a lost machine) loses no job: its locks expire within ${labTiming.lockDurationMs / 1000} s, and another
worker takes its jobs within about ${(labTiming.lockDurationMs + labTiming.stalledIntervalMs) / 1000} s and runs them again in fresh containers, recorded as
infrastructure retries (infraRetries), not as failures or test retries. Delivery is at least once: a job may
run twice (its first run may still be going in a container of the dead host until it is reaped), so its side
effects outside its container must be idempotent.

SIGTERM or SIGINT: takes no more jobs, lets running jobs finish for up to --grace-ms, hands the others back to
their queues (another host runs them; not failures), removes its containers, deregisters, exits 0. A second
signal exits at once (the next start reaps what is left).

Once running it prints one JSON line {"event":"ready","host",…} on stdout, then a line per job started, ended
or handed back. Logs go to stderr ($WARMPOOL_LOG_LEVEL, default info).

Options:
  --config FILE.json   The host config (its "kinds" and "host"; see \`warmpool serve --print-schema\`). Required
${labFlagsHelp}
  --host-id ID         This host in the lab (default: the machine's name, ${JSON.stringify(hostIdFromHostname(hostname()))} here). A live worker
                       with the same id is refused; give each worker on one machine its own
  --grace-ms N         At shutdown, how long running jobs may go on (default: ${defaultGraceMs})
  --out DIR            Where each job's artifacts, and the whole copy of any log the 64 KiB cap cut, go, as
                       DIR/<suite id>/jobs/<job>/attempt-<n>/ (default: ${join(tmpdir(), 'warmpool-lab', '<host id>')}).
                       A directory every host can reach (NFS) lets submitters read the artifacts
  --checkout-timeout-ms MS   How long a job waits for a container before it ends \`error\`
                       (default: ${defaultCheckoutTimeoutMs})

Exit codes: 0 stopped cleanly; 1 the host id is taken by a live worker, or containers could not be removed;
2 bad options or config; 3 Redis does not answer.`;

export const command: CliCommand = {
  name: 'worker',
  summary: "Run one host of a lab: keep its kinds warm and run the lab's jobs from Redis (BullMQ)",
  help,
  async run(args, io) {
    const flags = parseFlags(args, {
      ...labFlags,
      config: { type: 'string' },
      'host-id': { type: 'string' },
      'grace-ms': { type: 'string' },
      out: { type: 'string' },
      'checkout-timeout-ms': { type: 'string' },
    });
    if (flags.config === undefined) throw new UsageError('--config is required: a worker runs the kinds of a host config');
    const target = labTarget(flags, 'worker');
    const hostId = checkHostId(flags['host-id'] ?? hostIdFromHostname(hostname()));
    const graceMs = millisecondsFlag('grace-ms', flags['grace-ms'], defaultGraceMs);
    const checkoutTimeoutMs = millisecondsFlag('checkout-timeout-ms', flags['checkout-timeout-ms'], defaultCheckoutTimeoutMs, 1);
    const config = loadLabConfig(flags.config);
    const outDir = resolve(flags.out ?? join(tmpdir(), 'warmpool-lab', hostId));
    const level = process.env['WARMPOOL_LOG_LEVEL'];
    // The logger redacts every argument: no line can carry the Redis password.
    const logger = createLogger({ name: 'warmpool-worker', level: isLogLevel(level) ? level : 'info', context: { host: hostId }, stream: io.stderr });
    const emit = (event: Record<string, unknown>): void => {
      io.stdout.write(`${JSON.stringify(event)}\n`);
    };

    const controller = new AbortController();
    const stopListening = interruptOnSignals(controller, io, {
      stopping: (signal) => `warmpool worker: ${signal}: taking no more jobs; running jobs get ${graceMs} ms, then go back to their queues`,
      quitting: (signal) => `warmpool worker: ${signal} again: exiting now; the next start of host ${hostId} reaps what is left`,
      quitExitCode: exitCodes.failure,
    });
    try {
      let worker: LabWorker;
      try {
        worker = await LabWorker.start({
          config,
          redisUrl: target.redis.url,
          prefix: target.prefix,
          hostId,
          graceMs,
          outDir,
          checkoutTimeoutMs,
          say: (line) => logger.info(line),
          emit,
        });
      } catch (error) {
        if (error instanceof RedisUnavailableError) {
          io.stderr.write(`warmpool worker: ${error.message}\n`);
          return exitCodes.unavailable;
        }
        if (error instanceof HostIdTakenError) {
          io.stderr.write(`warmpool worker: ${error.message}\n`);
          return exitCodes.failure;
        }
        throw error;
      }
      emit({ event: 'ready', host: hostId, pid: process.pid, prefix: target.prefix, kinds: [...config.kinds.keys()], outDir });
      if (!controller.signal.aborted) await new Promise((resolve) => controller.signal.addEventListener('abort', resolve, { once: true }));
      const report = await worker.shutdown();
      emit({ event: 'stopped', host: hostId, handedBack: report.handedBack, leftBehind: report.leftBehind.map((left) => left.name) });
      if (report.leftBehind.length > 0) {
        const pools = [...config.kinds.values()].map((kind) => `\`warmpool reap --backend ${kind.backend} --pool-id ${kind.poolId}\``).join(' and ');
        io.stderr.write(`warmpool worker: could not remove ${report.leftBehind.length} container(s): ${report.leftBehind.map((left) => left.name).join(', ')}; ${pools} removes them\n`);
      }
      const code = report.leftBehind.length === 0 ? exitCodes.ok : exitCodes.failure;
      // Whatever handle a client library left open must not keep a stopped worker alive.
      setTimeout(() => process.exit(code), 3_000).unref();
      return code;
    } catch (error) {
      if (error instanceof UsageError || error instanceof InvalidOptionError) throw error;
      io.stderr.write(`warmpool worker: ${redactText(errorMessage(error))}\n`);
      return exitCodes.failure;
    } finally {
      stopListening();
    }
  },
};
