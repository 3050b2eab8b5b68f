import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { packageRoot } from '../engine-config.js';

const script = join(packageRoot, 'fixtures', 'engines', 'fault-dockerd.sh');

/** Engines started and not yet removed, for the exit handler. */
const live = new Set<FaultDockerd>();
let exitHandlerInstalled = false;

/**
 * A second private Docker engine (fixtures/engines/fault-dockerd.sh) that the engine-restart scenario may stop
 * and start: it lives in its own short directory under /tmp and is only ever signalled through its own pidfile.
 * The shared engine the other tests use is never touched. `remove()` stops it and deletes its directory; if the
 * process exits first, an exit handler does the same synchronously.
 */
export class FaultDockerd {
  readonly dir: string;
  /** The engine's socket path (DOCKER_HOST is `unix://` + this). */
  readonly socket: string;
  #removed = false;

  private constructor(dir: string) {
    this.dir = dir;
    this.socket = join(dir, 'docker.sock');
  }

  /** Starts a new engine with the test image imported; resolves with it and how long the start took. */
  static async create(): Promise<{ engine: FaultDockerd; startMs: number }> {
    installExitHandler();
    // Short on purpose: containerd's sockets nest below it and unix socket paths stop at 108 bytes.
    const engine = new FaultDockerd(await mkdtemp('/tmp/wpf-'));
    live.add(engine);
    try {
      return { engine, startMs: await engine.start() };
    } catch (error) {
      await engine.remove();
      throw error;
    }
  }

  /** Starts the engine (again); resolves with how long until it answered. */
  async start(): Promise<number> {
    return this.#run('start');
  }

  /** SIGTERM through its pidfile; resolves, with the time taken, once dockerd and its containerd have exited. */
  async stop(): Promise<number> {
    return this.#run('stop');
  }

  /** Stops it and deletes its directory. Idempotent. */
  async remove(): Promise<void> {
    if (this.#removed) return;
    await this.#run('remove');
    this.#removed = true;
    live.delete(this);
  }

  async #run(action: 'start' | 'stop' | 'remove'): Promise<number> {
    const startedAt = performance.now();
    await execa('bash', [script, action, this.dir], { stdin: 'ignore' });
    return Math.round(performance.now() - startedAt);
  }

  /** For the exit handler: the same as `remove()`, blocking. */
  removeNow(): void {
    if (this.#removed) return;
    spawnSync('bash', [script, 'remove', this.dir], { stdio: 'ignore' });
    this.#removed = true;
    live.delete(this);
  }
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const engine of [...live]) engine.removeNow();
  });
}
