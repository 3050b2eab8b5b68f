import type { ContainerFactory, RunnableContainer } from '../../lib/index.js';
import { DockerFactory } from '../../lib/backends/docker/index.js';
import { LxcFactory } from '../../lib/backends/lxc/index.js';
import type { BackendSettings } from '../backend.js';
import { defaultSuiteImage, defaultSuiteLxcBase, suiteCommand, suiteEnv, suiteJobTimeoutMs, suitePath, type CommandRun } from './real-suite-command.js';
import { dockerRunRm } from './real-suite-docker-run.js';
import { checkSuiteImage, checkSuiteLxcBase } from './real-suite-image.js';
import { lxcRunOnce } from './real-suite-lxc-run.js';

/** What the real-suite part needs of an engine: where the pool's containers come from, and the per-job baseline. */
export interface SuiteBackend {
  /** Containers of the suite's image (or LXC base) for the pool. */
  readonly poolFactory: ContainerFactory<RunnableContainer>;
  /** `package=version ...` the image holds, checked against the host's. */
  readonly packages: string;
  /** Runs one module in a container made for it alone, removed after. */
  readonly runInNewContainer: (module: string, signal: AbortSignal) => Promise<CommandRun>;
  /** Docker only: the same in a container made loopback-only, as the pool makes its own (`perJobLoopback`). */
  readonly runInNewLoopbackContainer?: (module: string, signal: AbortSignal) => Promise<CommandRun>;
  /** For the notes: where the containers come from, and how a container per job is made. */
  readonly source: string;
  readonly perJobHow: string;
  readonly poolRunTime: string;
}

/**
 * The engine's side of the part, after checking that the image (or LXC base) exists and holds what the host has.
 * Everything is made under `settings.poolId`, so the bench's final reap also finds what the part could not remove.
 * @throws SuiteImageError saying which build script to run
 */
export async function openSuiteBackend(settings: BackendSettings): Promise<SuiteBackend> {
  const { poolId } = settings;
  if (settings.backend === 'docker') {
    const image = process.env['WARMPOOL_PYSUITE_IMAGE'] ?? defaultSuiteImage;
    const factory = new DockerFactory({ docker: settings.dockerSocket, poolId, image });
    const { docker } = factory;
    return {
      poolFactory: factory,
      packages: await checkSuiteImage(docker, image),
      runInNewContainer: (module, signal) =>
        dockerRunRm({ docker, image, poolId, command: suiteCommand(module), env: suiteEnv, timeoutMs: suiteJobTimeoutMs, signal }),
      runInNewLoopbackContainer: (module, signal) =>
        dockerRunRm({ docker, image, poolId, command: suiteCommand(module), env: suiteEnv, timeoutMs: suiteJobTimeoutMs, signal, loopbackOnly: true }),
      source: `the Docker image ${image} built from the host's installed packages (fixtures/images/build-python-suite-image.sh); containers have network mode none`,
      perJobHow:
        'each job creates a container whose main process is the command (network none, json-file log), starts it, waits for it, reads its logs and force-removes it, as `docker run --rm` does; its run time is start to wait returning. perJobLoopback: the same, with the container made loopback-only as the pool makes its own (NetworkDisabled, the command started by /bin/sh once it wrote network mode none\'s /etc/hosts), which `docker run` cannot ask for',
      poolRunTime: "the scheduler's (through the container's agent, or docker exec, to the exit code)",
    };
  }
  const base = process.env['WARMPOOL_PYSUITE_LXC_BASE'] ?? defaultSuiteLxcBase;
  // lxc-attach runs commands with a cleared environment: give them what Docker's image and the host runs have.
  const options = { lxcpath: settings.lxcPath, base, poolId, env: { PATH: suitePath, HOME: '/root' } };
  const factory = new LxcFactory(options);
  // The per-job way runs its command with lxc-attach, so its clones start no agent: that would be work it never uses.
  const perJobFactory = new LxcFactory({ ...options, agent: false });
  return {
    poolFactory: factory,
    packages: await checkSuiteLxcBase(settings.lxcPath, base),
    runInNewContainer: (module, signal) => lxcRunOnce(perJobFactory, { command: suiteCommand(module), env: suiteEnv, timeoutMs: suiteJobTimeoutMs, signal }),
    source: `the LXC base ${base} in ${settings.lxcPath}, built from the host's installed packages (fixtures/images/build-python-suite-lxc-base.sh), cloned as overlayfs snapshots; containers have only loopback`,
    perJobHow:
      "each job makes its own clone as the pool's factory does (lxc-copy overlayfs snapshot, lxc-start, lxc-wait) but starts no agent in it, runs the command through lxc-attach and destroys the clone (lxc-destroy -f); its run time is the lxc-attach",
    poolRunTime: "the scheduler's (through the container's agent, or lxc-attach, to the exit code)",
  };
}
