import type { ContainerDescriptor, ContainerState, ExecOptions, ExecResult, RunnableContainer } from '../../container.js';
import { BackendError, InvalidOptionError } from '../../errors.js';
import { parseLxcAgentPath, type LxcAgentLocation } from './lxc-agent.js';
import { runAttached } from './lxc-attach.js';
import { notThroughAgent, runLxcFinalExec } from './lxc-final-exec.js';
import { lxcContainerState } from './lxc-state.js';
import { destroyLxcContainer } from './lxc-destroy.js';
import { setLxcFrozen } from './lxc-freeze.js';
import { validateLxcName } from './lxc-names.js';
import { validateAbsolutePath, validateArgv, validateEnv, validateExecOptions } from './lxc-validation.js';

const writeFileScript = 'mkdir -p "$(dirname "$1")" && cat > "$1"';

export interface LxcContainerOptions {
  /** Environment every command run in the container gets; `exec`'s own `env` wins key by key. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Where the container's agent is, as the host sees it (`/proc/<init pid>/root/...`, from the factory or a
   * descriptor): with it the container has `execFinal`.
   */
  readonly agentPath?: string;
}

/**
 * A running LXC container. Commands run through `lxc-attach --clear-env`, so the host's environment never
 * leaks in; files go in and out through the same channel (stdin of `cat`, stdout of `cat`), which needs only
 * `/bin/sh`, `mkdir`, `dirname` and `cat` inside the container.
 */
export class LxcContainer implements RunnableContainer, AsyncDisposable {
  readonly backend = 'lxc' as const;
  readonly id: string;
  readonly name: string;
  readonly lxcpath: string;
  readonly #env: Readonly<Record<string, string>>;
  readonly #agent: LxcAgentLocation | undefined;
  /** This handle gave the agent its command: another call goes through exec without trying it. */
  #agentUsed = false;
  #destroying: Promise<void> | undefined;
  /**
   * Only on a container with an agent (see lxc-agent.ts): runs `argv` through it instead of an lxc-attach, so it
   * starts in a millisecond or two, also while the pool refills. The last thing run in the container: the agent takes one command
   * (the container keeps running, so files can still be read out). When the agent is not there to take it (already
   * used, or the container stopped), it runs through `exec`, which says what is wrong; so does a command line
   * above 16 KB, which exec starts sooner.
   */
  readonly execFinal?: (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

  constructor(lxcpath: string, name: string, options: LxcContainerOptions = {}) {
    this.lxcpath = validateAbsolutePath('lxcpath', lxcpath);
    this.name = validateLxcName(name);
    this.id = name;
    this.#env = validateEnv('env', options.env);
    if (options.agentPath !== undefined) {
      this.#agent = parseLxcAgentPath(options.agentPath);
      if (this.#agent === undefined) {
        throw new InvalidOptionError('agentPath', options.agentPath, "an LXC agent's path (/proc/<pid>/root/tmp/.warmpool-agent-<hex>)");
      }
      this.execFinal = (argv, execOptions) => this.#execFinal(argv, execOptions);
    }
  }

  describe(): ContainerDescriptor {
    const env = Object.keys(this.#env).length > 0 ? { env: this.#env } : {};
    const agent = this.#agent === undefined ? {} : { agentPath: this.#agent.path };
    return { backend: this.backend, id: this.id, name: this.name, lxcpath: this.lxcpath, ...env, ...agent };
  }

  /**
   * Runs `argv` (no shell) and resolves with its exit code and output, exactly as written (no trimming).
   * On `timeoutMs` the command is killed and the result has `timedOut: true` and exit code 124; when `signal`
   * aborts it is killed and the call rejects with the signal's reason. Rejects with BackendError when
   * lxc-attach cannot enter the container (e.g. it is not running).
   */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const command = validateArgv('argv', argv);
    const { signal, timeoutMs, env, cwd } = validateExecOptions(options);
    const result = await runAttached({
      lxcpath: this.lxcpath,
      name: this.name,
      argv: command,
      env: { ...this.#env, ...env },
      cwd,
      signal,
      timeoutMs,
    });
    return {
      exitCode: result.exitCode,
      stdout: result.stdout.toString('utf8'),
      stderr: result.stderr.toString('utf8'),
      timedOut: result.timedOut,
    };
  }

  async #execFinal(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const command = validateArgv('argv', argv);
    const valid = validateExecOptions(options);
    if (this.#agent !== undefined && !this.#agentUsed) {
      this.#agentUsed = true;
      const result = await runLxcFinalExec(this, this.#agent, command, { ...valid, env: { ...this.#env, ...valid.env } });
      if (result !== notThroughAgent) return result;
    }
    return this.exec(command, options);
  }

  async writeFile(path: string, data: string | Uint8Array): Promise<void> {
    validateAbsolutePath('path', path);
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw new InvalidOptionError('data', data, 'a string or a Uint8Array');
    }
    const result = await runAttached({
      lxcpath: this.lxcpath,
      name: this.name,
      argv: ['/bin/sh', '-c', writeFileScript, 'sh', path],
      env: {},
      input: data,
    });
    if (result.exitCode !== 0) {
      throw new BackendError(
        `Writing ${path} in ${this.name} failed with exit code ${String(result.exitCode)}: ${result.stderr.toString('utf8').trim()}`,
      );
    }
  }

  async readFile(path: string): Promise<Buffer> {
    validateAbsolutePath('path', path);
    const result = await runAttached({ lxcpath: this.lxcpath, name: this.name, argv: ['cat', path], env: {} });
    if (result.exitCode !== 0) {
      throw new BackendError(
        `Reading ${path} in ${this.name} failed with exit code ${String(result.exitCode)}: ${result.stderr.toString('utf8').trim()}`,
      );
    }
    return result.stdout;
  }

  /**
   * `running`, `stopped` or `gone`, from one `lxc-info` and a look at the init process (see lxcContainerState).
   * Rejects with EngineUnavailableError rather than guess when LXC does not answer clearly.
   */
  state(): Promise<ContainerState> {
    return lxcContainerState(this.lxcpath, this.name);
  }

  /**
   * `lxc-freeze`: freezes every process of the container. Idempotent. While it is frozen, `exec`, `readFile`
   * and `writeFile` wait (lxc-attach cannot enter it) until `resume()`; `state()` still says `running`. Rejects
   * with EngineUnavailableError when LXC does not answer, with BackendError when the container is gone or stopped.
   */
  pause(): Promise<void> {
    return setLxcFrozen(this.lxcpath, this.name, true);
  }

  /**
   * `lxc-unfreeze`. Resuming a container that is not frozen succeeds (a stopped one included). Rejects with
   * EngineUnavailableError when LXC does not answer, with BackendError when the container is gone.
   */
  resume(): Promise<void> {
    return setLxcFrozen(this.lxcpath, this.name, false);
  }

  /** Stops and removes the container (`lxc-destroy -f`). Idempotent; concurrent calls share one run. */
  destroy(): Promise<void> {
    this.#destroying ??= destroyLxcContainer(this.lxcpath, this.name).catch((error: unknown) => {
      // A failed destroy may be retried by a later call.
      this.#destroying = undefined;
      throw error;
    });
    return this.#destroying;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}

/** Reattaches to a container another process created, from its descriptor (e.g. one the pool service sent). */
export function openLxcContainer(descriptor: ContainerDescriptor, options: LxcContainerOptions = {}): LxcContainer {
  if (typeof descriptor !== 'object' || descriptor === null || descriptor.backend !== 'lxc') {
    throw new InvalidOptionError('descriptor', descriptor, "a ContainerDescriptor with backend 'lxc'");
  }
  if (descriptor.id !== descriptor.name) {
    throw new InvalidOptionError('descriptor.id', descriptor.id, `the container's name (${descriptor.name})`);
  }
  const env = options.env ?? descriptor.env;
  const agentPath = options.agentPath ?? descriptor.agentPath;
  return new LxcContainer(validateAbsolutePath('descriptor.lxcpath', descriptor.lxcpath), descriptor.name, {
    ...options,
    ...(env === undefined ? {} : { env }),
    ...(agentPath === undefined ? {} : { agentPath }),
  });
}
