// What one job of the real-suite part runs, the same in all three modes (pool, a container per job, the host).

/** Built by fixtures/images/build-python-suite-image.sh from the host's python3.11 packages. */
export const defaultSuiteImage = 'warmpool/pysuite:3.11';

/** The same root filesystem as an LXC base, built by fixtures/images/build-python-suite-lxc-base.sh. */
export const defaultSuiteLxcBase = 'base-pysuite';

/** The host's interpreter: the image holds this very file, so both sides run the same binary. */
export const suitePython = '/usr/bin/python3.11';

/** PATH as the image sets it; the host runs get it too, so tests that look programs up find the same names. */
export const suitePath = '/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The command for one test module, through CPython's own runner (`-m test`, regrtest) rather than plain
 * unittest: regrtest leaves resources such as `network` and `cpu` disabled unless asked (unittest would run the
 * network tests and fail without a network), runs each module in a fresh temporary working directory, and
 * exits non-zero when a test fails. `-q` keeps the output short.
 *
 * `-S` (no site module) because the host's site-packages hold .pth files that run code at every interpreter
 * start and the image has none: the host would pay for them in every test and subprocess. `-B` so no run writes
 * .pyc files: both sides read the ones Debian compiled at install time, and an early run cannot speed up a later
 * one. regrtest passes both flags on to the Python subprocesses the tests start.
 */
export function suiteCommand(module: string): string[] {
  return [suitePython, '-S', '-B', '-m', 'test', '-q', module];
}

/** The command's environment besides what the image (or, on the host, the runner) sets. */
export const suiteEnv: Readonly<Record<string, string>> = { LANG: 'C.UTF-8' };

/** One module's limit in every mode: far above any chosen module's few seconds, so only a hang hits it. */
export const suiteJobTimeoutMs = 120_000;

/** How one run of a command ended, in whichever mode. */
export interface CommandRun {
  /** null when it did not exit on its own (killed at its timeout). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** From starting the command (the container's start, the host's spawn) to its exit. */
  readonly runMs: number;
  /** Everything the job cost its slot: for a container per job also creating, reading the logs and removing. */
  readonly totalMs: number;
}
