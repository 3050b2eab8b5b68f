import { BackendError, errorMessage } from '../../../lib/errors.js';
import { backendNames, isBackendName, reapBackendOrphans, resolveBackendSettings } from '../../backend.js';
import { parseFlags, poolIdFromFlag } from '../../service/cli-flags.js';
import { exitCodes, UsageError, type CliCommand } from '../command.js';

const help = `Usage: warmpool reap --pool-id ID [--backend docker|lxc] [--force] [--json]

Removes the containers of a pool whose creating process has exited (a crashed or killed service, a kept
container whose service has gone), straight on the engine: the service need not run. Containers of live
processes are left alone unless --force. Containers not made by warmpool are never touched.

Options:
  --pool-id ID           The pool whose containers to look at (required)
  --backend docker|lxc   Default: docker
  --force                Remove all of the pool's containers, even those of live processes
  --json                 Print {"removed":[…],"kept":[…]}
  --docker-socket PATH   Docker engine socket. Default: from .engines/engines.env or DOCKER_HOST
  --lxc-path PATH        LXC path. Default: from .engines/engines.env

Exit codes: 0 done; 2 bad options; 3 the engine could not be reached (or a removal failed).
`;

export const command: CliCommand = {
  name: 'reap',
  summary: "Remove a pool's orphaned containers from the engine",
  help,
  async run(args, io) {
    const flags = parseFlags(args, {
      'pool-id': { type: 'string' },
      backend: { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      'docker-socket': { type: 'string' },
      'lxc-path': { type: 'string' },
    });
    if (flags['pool-id'] === undefined) throw new UsageError('--pool-id is required: reaping is always for one pool');
    const poolId = poolIdFromFlag(flags['pool-id']);
    const backend = flags.backend ?? 'docker';
    if (!isBackendName(backend)) throw new UsageError(`--backend must be one of ${backendNames.join(', ')}, got ${JSON.stringify(backend)}`);
    for (const flag of ['docker-socket', 'lxc-path'] as const) {
      const value = flags[flag];
      if (value !== undefined && !value.startsWith('/')) throw new UsageError(`--${flag} must be an absolute path, got ${JSON.stringify(value)}`);
    }
    const settings = resolveBackendSettings({
      backend,
      poolId,
      ...(flags['docker-socket'] === undefined ? {} : { dockerSocket: flags['docker-socket'] }),
      ...(flags['lxc-path'] === undefined ? {} : { lxcPath: flags['lxc-path'] }),
    });
    let result: { removed: string[]; kept: string[] };
    try {
      result = await reapBackendOrphans(settings, flags.force ?? false);
    } catch (error) {
      const reason = error instanceof BackendError ? error.message : errorMessage(error);
      io.stderr.write(`warmpool reap: ${reason}\n`);
      return exitCodes.unavailable;
    }
    if (flags.json) {
      io.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      io.stdout.write(`removed ${result.removed.length}${result.removed.length > 0 ? `: ${result.removed.join(', ')}` : ''}\n`);
      if (result.kept.length > 0) io.stdout.write(`kept ${result.kept.length} (their process runs; --force removes them): ${result.kept.join(', ')}\n`);
    }
    return exitCodes.ok;
  },
};
