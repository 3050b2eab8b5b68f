import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerFactory, ExecOptions, ExecResult, RunnableContainer } from '../../lib/container.js';
import { InstantFactory } from './instant-factory.js';

/** The environment variable a lab bench job carries its key in, so its container can say whose command it ran. */
export const benchJobEnv = 'WARMPOOL_BENCH_JOB';

/** One command an instant container ran: whose (the job's key), and when it started and ended (performance.now()). */
export interface CommandRun {
  readonly job: string;
  readonly startMs: number;
  readonly endMs: number;
}

export interface CommandListener {
  /** The command starts: the job has its container and its command runs. */
  started(job: string, atMs: number): void;
  ended(run: CommandRun): void;
}

/**
 * The milliseconds a `sleep SECONDS` argv asks for, or undefined for any other command. The lab bench's jobs
 * are `sleep 0.05`: what a real container would run for a 50 ms job, so the suite stays a valid suite.
 */
export function sleepMsOf(argv: readonly string[]): number | undefined {
  const [program, seconds] = argv;
  if (argv.length !== 2 || program !== 'sleep' || seconds === undefined || !/^[0-9]+(\.[0-9]+)?$/.test(seconds)) return undefined;
  // Rounded to the microsecond: 0.05 s is 50 ms, not 50.00000000000001.
  return Math.round(Number(seconds) * 1e6) / 1e3;
}

/**
 * Containers for the lab part: the bench's instant containers (in memory, made at once: no engine in the way),
 * made runnable. Their one command is `sleep SECONDS`, a timer in this process; anything else exits 127 as a
 * missing command would. Each command's start and end go to the listener, so the bench reads the lab's dispatch
 * off the same clock as its enqueues.
 */
export class LabInstantFactory implements ContainerFactory<RunnableContainer> {
  readonly #instant = new InstantFactory();
  readonly #listener: CommandListener;

  constructor(listener: CommandListener) {
    this.#listener = listener;
  }

  async createContainer(): Promise<RunnableContainer> {
    const instant = await this.#instant.createContainer();
    const { id, name } = instant;
    return {
      id,
      name,
      destroy: () => instant.destroy(),
      backend: 'docker',
      describe: () => ({ backend: 'docker', id, name }),
      exec: (argv, options) => this.#exec(argv, options),
      writeFile: () => Promise.resolve(),
      readFile: (path) => Promise.reject(new Error(`${path}: no such file in an instant container`)),
      state: () => Promise.resolve('running'),
    };
  }

  async #exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const ms = sleepMsOf(argv);
    if (ms === undefined) return { exitCode: 127, stdout: '', stderr: `${argv[0] ?? ''}: not found (instant containers run only sleep)\n`, timedOut: false };
    const job = options.env?.[benchJobEnv] ?? '?';
    const startMs = performance.now();
    this.#listener.started(job, startMs);
    await sleep(ms, undefined, options.signal ? { signal: options.signal } : {});
    this.#listener.ended({ job, startMs, endMs: performance.now() });
    return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
  }
}
