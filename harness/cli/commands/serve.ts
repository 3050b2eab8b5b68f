import { BackendError, errorMessage } from '../../../lib/errors.js';
import type { ShutdownReport } from '../../service/pool-service.js';
import { runService } from '../../service/run-service.js';
import { parseServeInvocation } from '../../service/serve-invocation.js';
import { serviceDefaults } from '../../service/service-config.js';
import { ServiceRunningError } from '../../service/service-errors.js';
import { systemdNotifier } from '../../service/systemd-notify.js';
import { exitCodes, type CliCommand, type CliIo } from '../command.js';
import { interruptOnSignals } from '../interrupt.js';

const help = `Usage: warmpool serve [options]
       warmpool serve --config lab.json
       warmpool serve --print-schema

Runs the pool service: warm containers of one or more kinds shared by every client on this host through a unix socket
(mode 0600). One service per socket: it holds a lock on <socket>.lock for its whole life, and refuses to start
(exit 1) while another service holds it, even when both start in the same instant; a crashed service's lock is
free at once. On start it removes the containers a crashed service of the same pool id left behind. SIGTERM or
SIGINT (or \`warmpool stop\`) shut it down cleanly: waiting clients are refused, ready containers and
handed-out ones not kept are destroyed (failed removals are retried until the shutdown timeout), the socket and
lock files are removed, exit code 0; containers it could not remove are named, exit code 1. A second signal
exits at once (the next start reaps what is left).

When more clients wait than there are containers, containers go round-robin across connections, and each
connection's gets are served in the order it sent them: no client can starve the others. Limits (below) protect
the service: a client over one gets an error answer with the limit's code, never silence.

A host config of kinds (--config lab.json with "kinds" and "host"; see README, and --print-schema for its JSON
Schema) keeps several kinds warm: each a pool sized by its demand between its min and max, all under the host's
maxCreations and maxContainers. Clients name a kind (\`warmpool get --kind NAME\`); the first kind is the default.
Today's flags (and a flat config file) make one kind, "default". SIGHUP reads the config again: new kinds start,
removed kinds drain, changed kinds roll over to new containers, sizes change; containers handed out are kept. A
config that does not load is logged and changes nothing. Host keys (socket, pool id, caps) need a restart.

Once listening it prints one JSON line to stdout: {"socket":…,"pid":…,"metricsUrl":…}. Logs go to stderr.
Under a systemd unit of Type=notify (NOTIFY_SOCKET set) it then reports READY=1 through systemd-notify (the
unit needs NotifyAccess=all): the socket listens and the pool has started creating, not necessarily full. A
SIGTERM or SIGINT reports STOPPING=1. packaging/systemd/warmpool-serve@.service is an example unit.

Options (flags override the config file, which overrides the defaults):
  --backend docker|lxc          Default: ${serviceDefaults.backend}
  --size N                      Containers kept ready. Default: ${serviceDefaults.size}
  --workers N                   Creations at once. Default: ${serviceDefaults.workers}
  --creation-timeout-ms N       A creation running longer is cancelled. Default: ${serviceDefaults.creationTimeoutMs}
  --max-errors-per-hour N       Pause creating after this many failures in an hour. Default: ${serviceDefaults.maxErrorsPerHour}
  --pool-id ID                  Names the pool's containers on the engine. Default: ${serviceDefaults.poolId}
  --socket PATH                 Default: $XDG_RUNTIME_DIR/warmpool/<pool-id>.sock, else
                                /tmp/warmpool-<uid>/<pool-id>.sock (its directory is created 0700)
  --metrics-port N              Serve Prometheus metrics at http://127.0.0.1:N/metrics (0: any free port)
  --config FILE.json            {"backend","size","workers","creationTimeoutMs","maxErrorsPerHour","poolId",
                                 "socket","metricsPort","logLevel","dockerSocket","dockerImage","lxcPath",
                                 "lxcBase","readinessCommand":["/bin/sh","-c","…"],"readinessTimeoutMs",
                                 "shutdownTimeoutMs", and the limits below}
  --log-level L                 silly|trace|debug|info|warn|error|fatal|silent. Default: ${serviceDefaults.logLevel}
  --docker-socket PATH          Docker engine socket. Default: from .engines/engines.env or DOCKER_HOST
  --docker-image IMAGE          Default: from .engines/engines.env, else warmpool/busybox:latest
  --lxc-path PATH               LXC path. Default: from .engines/engines.env
  --lxc-base NAME               LXC base container. Default: from .engines/engines.env, else base-busybox
  --readiness-timeout-ms N      Give up on a container whose readiness command has not succeeded by then.
                                Default: the backend's
  --shutdown-timeout-ms N       At shutdown, wait this long in all for creations to stop and removals to
                                succeed. Default: ${serviceDefaults.shutdownTimeoutMs}

Limits (each also a config key: maxConnections, maxWaitingGets, maxUnreadBytes, lineTimeoutMs, maxLineBytes):
  --max-connections N           Client connections at once; more get ERR_WARMPOOL_TOO_MANY_CONNECTIONS and are
                                closed. Lowered to what the open-file limit (ulimit -n) leaves room for.
                                Default: ${serviceDefaults.maxConnections}
  --max-waiting-gets N          Gets one connection may have waiting; more get ERR_WARMPOOL_TOO_MANY_WAITING
                                (the connection stays). Default: ${serviceDefaults.maxWaitingGets}
  --max-unread-bytes N          Answers a client has not read yet; past this ERR_WARMPOOL_UNREAD_LIMIT, closed.
                                (A client slow to read first stops being read from.) Default: ${serviceDefaults.maxUnreadBytes}
  --line-timeout-ms N           A line begun must be finished within N ms; else ERR_WARMPOOL_LINE_TIMEOUT, closed.
                                Default: ${serviceDefaults.lineTimeoutMs}
  --max-line-bytes N            Longest request line; longer: ERR_WARMPOOL_LINE_TOO_LONG, closed.
                                Default: ${serviceDefaults.maxLineBytes}

Exit codes: 0 shut down cleanly; 1 another service holds the socket, or cleanup failed (containers it could
not remove are named on stderr); 2 bad options; 3 the engine could not be reached.
`;

/** After shutdown, whatever handle an engine client left open must not keep the process alive for long. */
const exitGraceMs = 3000;

/**
 * The exit code of a service that shut down: 0 only if everything was cleaned up. Containers it could not
 * remove are named on stderr, with the command that removes them once the service has gone.
 */
export function reportShutdown(report: ShutdownReport, config: { readonly reapHint: string }, io: CliIo): number {
  if (report.notRemoved.length > 0) {
    io.stderr.write(`warmpool serve: could not remove ${report.notRemoved.length} container(s): ${report.notRemoved.join(', ')}; ${config.reapHint} removes them\n`);
  }
  return report.clean ? exitCodes.ok : exitCodes.failure;
}

export const command: CliCommand = {
  name: 'serve',
  summary: 'Run the pool service (one shared pool per host, on a unix socket)',
  help,
  async run(args, io) {
    const invocation = await parseServeInvocation(args);
    if (invocation.printSchema) {
      const { labConfigJsonSchema } = await import('../../config/lab-config.js');
      io.stdout.write(`${JSON.stringify(labConfigJsonSchema(), null, 2)}\n`);
      return exitCodes.ok;
    }
    const { config, load } = invocation;
    const reapHint = [...config.kinds.values()].map((kind) => `\`warmpool reap --backend ${kind.backend} --pool-id ${kind.poolId}\``).join(' and ');
    const controller = new AbortController();
    const stopListening = interruptOnSignals(controller, io, {
      stopping: (signal) => `warmpool serve: ${signal}: shutting down`,
      quitting: (signal) => `warmpool serve: ${signal} again: exiting now; the next start of ${config.host.poolId} reaps what is left`,
      quitExitCode: exitCodes.failure,
    });
    try {
      const report = await runService(config, {
        signal: controller.signal,
        onListening: (info) => io.stdout.write(`${JSON.stringify(info)}\n`),
        // Undefined unless systemd started the service as Type=notify.
        notifier: systemdNotifier(),
        reload: {
          load,
          listen: (reload) => {
            process.on('SIGHUP', reload);
            return () => process.off('SIGHUP', reload);
          },
        },
      });
      const code = reportShutdown(report, { reapHint }, io);
      setTimeout(() => process.exit(code), exitGraceMs).unref();
      return code;
    } catch (error) {
      if (error instanceof ServiceRunningError) {
        io.stderr.write(`warmpool serve: ${error.message}\n`);
        return exitCodes.failure;
      }
      if (error instanceof BackendError) {
        io.stderr.write(`warmpool serve: cannot reach an engine: ${errorMessage(error)}\n`);
        return exitCodes.unavailable;
      }
      throw error;
    } finally {
      stopListening();
    }
  },
};
