import Dockerode from 'dockerode';
import { readdir } from 'node:fs/promises';
import { execa } from 'execa';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { poolLabel } from '../../lib/backends/docker/index.js';
import type { RunnableContainer } from '../../lib/container.js';
import { errorMessage } from '../../lib/errors.js';
import type { BackendName } from '../../harness/backend.js';
import type { CheckoutOptions, ContainerSource } from '../../harness/scheduler/container-source.js';

const engine = loadEngineConfig();

/** Fails with a clear message when the engine the tests need is not there; integration tests never skip. */
export async function assertEngine(backend: BackendName): Promise<void> {
  if (backend === 'docker') {
    const docker = new Dockerode({ socketPath: engine.dockerSocket });
    try {
      await docker.ping();
      await docker.getImage(engine.dockerImage).inspect();
    } catch (error) {
      throw new Error(`No Docker engine with ${engine.dockerImage} at ${engine.dockerSocket} (${errorMessage(error)}). Run fixtures/engines/ensure-docker.sh first.`);
    }
    return;
  }
  try {
    await execa('lxc-ls', ['--version']);
  } catch (error) {
    throw new Error(`LXC is not usable here (lxc-ls failed: ${errorMessage(error)}). Run fixtures/engines/ensure-lxc.sh first.`);
  }
  try {
    const entries = await readdir(engine.lxcPath);
    if (!entries.includes(engine.lxcBase)) throw new Error(`no ${engine.lxcBase} in it`);
  } catch (error) {
    throw new Error(`No LXC base ${engine.lxcBase} in ${engine.lxcPath} (${errorMessage(error)}). Run fixtures/engines/ensure-lxc.sh first.`);
  }
}

/** Names of the containers of pool `poolId` on the engine now, stopped ones included. */
export async function containersOfPool(backend: BackendName, poolId: string): Promise<string[]> {
  if (backend === 'docker') {
    const docker = new Dockerode({ socketPath: engine.dockerSocket });
    const list = await docker.listContainers({ all: true, filters: { label: [`${poolLabel}=${poolId}`] } });
    return list.map((info) => info.Names[0] ?? info.Id);
  }
  // LXC names are warmpool-<poolId>-<pid>-<suffix>; a directory per container under the lxcpath.
  return (await readdir(engine.lxcPath)).filter((name) => name.startsWith(`warmpool-${poolId}-`));
}

/**
 * Docker only: records every engine event about the pool's containers from now until `stop()`. Watched live,
 * because the engine keeps only its last few hundred events and a busy engine drops old ones within seconds.
 */
export async function watchDockerEventsOfPool(poolId: string): Promise<{ stop(): Promise<string[]> }> {
  const docker = new Dockerode({ socketPath: engine.dockerSocket });
  const stream = await docker.getEvents({ filters: { label: [`${poolLabel}=${poolId}`] } });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return {
    async stop() {
      // Events reach the stream a moment after they happen.
      await new Promise((resolve) => setTimeout(resolve, 500));
      (stream as unknown as { destroy(): void }).destroy();
      return text.split('\n').filter((line) => line.trim() !== '');
    },
  };
}

/** Passes everything through to another source; tests override `checkout` to watch what the scheduler gets. */
export class ForwardingSource implements ContainerSource {
  constructor(protected readonly inner: ContainerSource) {}

  get capacity(): number {
    return this.inner.capacity;
  }

  ready(): number {
    return this.inner.ready();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  checkout(options: CheckoutOptions): Promise<RunnableContainer> {
    return this.inner.checkout(options);
  }

  async dropDead(signal?: AbortSignal): Promise<void> {
    await this.inner.dropDead?.(signal);
  }
}

/** A source that counts the containers checked out and not yet destroyed: jobs running at once. */
export class CountingSource extends ForwardingSource {
  out = 0;
  maxOut = 0;
  readonly names: string[] = [];

  override async checkout(options: CheckoutOptions): Promise<RunnableContainer> {
    const container = await this.inner.checkout(options);
    this.out++;
    this.maxOut = Math.max(this.maxOut, this.out);
    this.names.push(container.name);
    let released = false;
    // Counted back when the job gives it up, not when the engine has removed it: removals run off the jobs' path.
    const destroy = (): Promise<void> => {
      if (!released) this.out--;
      released = true;
      return container.destroy();
    };
    return {
      backend: container.backend,
      id: container.id,
      name: container.name,
      describe: () => container.describe(),
      exec: (argv, execOptions) => container.exec(argv, execOptions),
      writeFile: (path, data) => container.writeFile(path, data),
      readFile: (path) => container.readFile(path),
      state: () => container.state(),
      destroy,
    };
  }
}
