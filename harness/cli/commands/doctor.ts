import { runDoctor } from '../../doctor/doctor.js';
import { defaultContainerTimeoutMs, parseDoctorArgs } from '../../doctor/doctor-options.js';
import { formatCheck, formatSummary } from '../../doctor/doctor-report.js';
import { lowDiskBytes, criticalDiskBytes } from '../../doctor/checks/disk-space.js';
import { formatBytes } from '../../doctor/check.js';
import { exitCodes, type CliCommand } from '../command.js';
import { interruptOnSignals } from '../interrupt.js';

const help = `Usage: warmpool doctor [--backend docker|lxc] [--pool-id ID] [--socket PATH] [--json] [serve's options]

Answers "why does this host not give me containers?": checks what \`warmpool serve\` with the same options
needs, each on one line (ok, WARN, FAIL, or skip when a check it needs failed) with the fix when it is not ok:

  engine      the engine answers, and its version (Docker: the socket; LXC: lxc-info, lxc-ls on the lxcpath)
  cgroup, overlay, userns
              (LXC) a cgroup file system is mounted, the kernel has overlay for snapshot clones, user
              namespaces when not run as root
  image       the Docker image is on the engine (never pulled), or the LXC base is in the lxcpath
  container   a container starts and passes the readiness command (or runs a command when none is set):
              made by serve's own factory in the pool "doctor", then removed; within --timeout-ms
  socket-dir  the socket's directory is this user's and mode 0700
  socket      no stale socket (a socket file nobody listens on, left by a service that crashed)
  lock        no stale lock file (<socket>.lock whose holder is gone: a warning, serve takes it over)
  orphans     no containers of the pool whose creating process is gone (listed, not removed:
              \`warmpool reap\` removes them)
  disk        free space under the engine's data root (Docker's DockerRootDir, or the lxcpath):
              WARN under ${formatBytes(lowDiskBytes)}, FAIL under ${formatBytes(criticalDiskBytes)}

Options:
  --backend docker|lxc   Default: docker
  --pool-id ID           The pool whose socket, lock and orphans to look at. Default: default
  --socket PATH          The service's socket. Default: serve's, from the pool id
  --json                 Print {"ok":…,"checks":[{"id","status","message","fix"?}]} instead of lines
  --timeout-ms N         The longest the trial container may take. Default: ${defaultContainerTimeoutMs}
  Every \`warmpool serve\` option is accepted (--config, --docker-socket, --docker-image, --lxc-path,
  --lxc-base, --readiness-timeout-ms, …), so the service's own command line checks what it will use; the
  environment (DOCKER_HOST, WARMPOOL_DOCKER_IMAGE, WARMPOOL_LXC_PATH, WARMPOOL_LXC_BASE) works as for serve.

Exit codes: 0 no check failed (warnings allowed); 1 a check failed; 2 bad options.
`;

export const command: CliCommand = {
  name: 'doctor',
  summary: 'Check that this host can run a pool, and say how to fix what it cannot',
  help,
  async run(args, io) {
    const options = parseDoctorArgs(args);
    const controller = new AbortController();
    const stopListening = interruptOnSignals(controller, io, {
      stopping: (signal) => `warmpool doctor: ${signal}: stopping (removing the trial container)`,
      quitting: (signal) => `warmpool doctor: ${signal} again: exiting now; the next doctor removes its trial container`,
      quitExitCode: exitCodes.failure,
    });
    const started = performance.now();
    try {
      if (!options.json) {
        const { backend, poolId, socket } = options.config;
        io.stdout.write(`warmpool doctor: ${backend} backend, pool ${poolId}, socket ${socket}\n`);
      }
      const report = await runDoctor(options, {
        signal: controller.signal,
        ...(options.json ? {} : { onResult: (result) => io.stdout.write(formatCheck(result)) }),
      });
      io.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatSummary(report, performance.now() - started));
      return report.ok ? exitCodes.ok : exitCodes.failure;
    } finally {
      stopListening();
    }
  },
};
