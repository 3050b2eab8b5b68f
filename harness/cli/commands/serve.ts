import { BackendError, errorMessage } from '../../../lib/errors.js';
import { runService } from '../../service/run-service.js';
import { parseServeArgs, serviceDefaults } from '../../service/service-config.js';
import { ServiceRunningError } from '../../service/service-errors.js';
import { exitCodes, type CliCommand } from '../command.js';
import { interruptOnSignals } from '../interrupt.js';

const help = `Usage: warmpool serve [options]

Runs the pool service: one pool of warm containers shared by every client on this host through a unix socket
(mode 0600). On start it removes the containers a crashed service of the same pool id left behind, and it
refuses to start if a live service already answers on the socket. SIGTERM or SIGINT (or \`warmpool stop\`)
shut it down cleanly: waiting clients are refused, ready containers and handed-out ones not kept are destroyed,
the socket is removed, exit code 0. A second signal exits at once (the next start reaps what is left).

Once listening it prints one JSON line to stdout: {"socket":…,"pid":…,"metricsUrl":…}. Logs go to stderr.

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
                                 "lxcBase","readinessCommand":["/bin/sh","-c","…"]}
  --log-level L                 silly|trace|debug|info|warn|error|fatal|silent. Default: ${serviceDefaults.logLevel}
  --docker-socket PATH          Docker engine socket. Default: from .engines/engines.env or DOCKER_HOST
  --docker-image IMAGE          Default: from .engines/engines.env, else warmpool/busybox:latest
  --lxc-path PATH               LXC path. Default: from .engines/engines.env
  --lxc-base NAME               LXC base container. Default: from .engines/engines.env, else base-busybox

Exit codes: 0 shut down cleanly; 1 a live service holds the socket, or cleanup failed; 2 bad options;
3 the engine could not be reached.
`;

/** After shutdown, whatever handle an engine client left open must not keep the process alive for long. */
const exitGraceMs = 3000;

export const command: CliCommand = {
  name: 'serve',
  summary: 'Run the pool service (one shared pool per host, on a unix socket)',
  help,
  async run(args, io) {
    const config = parseServeArgs(args);
    const controller = new AbortController();
    const stopListening = interruptOnSignals(controller, io, {
      stopping: (signal) => `warmpool serve: ${signal}: shutting down`,
      quitting: (signal) => `warmpool serve: ${signal} again: exiting now; the next start of pool ${config.poolId} reaps what is left`,
      quitExitCode: exitCodes.failure,
    });
    try {
      const report = await runService(config, {
        signal: controller.signal,
        onListening: (info) => io.stdout.write(`${JSON.stringify(info)}\n`),
      });
      const code = report.clean ? exitCodes.ok : exitCodes.failure;
      setTimeout(() => process.exit(code), exitGraceMs).unref();
      return code;
    } catch (error) {
      if (error instanceof ServiceRunningError) {
        io.stderr.write(`warmpool serve: ${error.message}\n`);
        return exitCodes.failure;
      }
      if (error instanceof BackendError) {
        io.stderr.write(`warmpool serve: cannot reach the ${config.backend} engine: ${errorMessage(error)}\n`);
        return exitCodes.unavailable;
      }
      throw error;
    } finally {
      stopListening();
    }
  },
};
