import type { ContainerDeath } from '../../container.js';

/** What one line of `lxc-monitor` means to the watch. */
export type LxcMonitorEvent =
  /** The watch's own probe came back: lxc-monitor is subscribed (see lxc-monitor-probe.ts). */
  | { readonly kind: 'probe' }
  | { readonly kind: 'died'; readonly death: ContainerDeath };

export interface LxcMonitorParserOptions {
  /** Whether a container name is one this watch reports (the pool's own). */
  isWatched(name: string): boolean;
  /** The name of this watch's probe. */
  readonly probeName: string;
}

// lxc-monitor prints exactly these two forms (src/lxc/tools/lxc_monitor.c); names cannot contain a quote.
const stateLine = /^'([^']*)' changed state to \[([A-Z ]+)\]$/;
const exitLine = /^'([^']*)' exited with status \[(-?\d+)\]$/;

/** The states that end a container's run: STOPPING comes first, so the death is reported at once. */
const endStates = new Set(['STOPPING', 'ABORTING', 'STOPPED']);
/** A new run (a restart, a reboot) begins. */
const startStates = new Set(['STARTING', 'RUNNING']);

/**
 * Turns `lxc-monitor` output into deaths, one per run of a container: a stopping container prints
 * `'c' exited with status [N]`, then `[STOPPING]`, then `[STOPPED]` (ABORTING for a start that failed), and the
 * death is reported at the first of these states, with the exit code of the `exited` line before it. A reboot
 * prints STOPPING and then STARTING without STOPPED; it is reported too, as the container did stop.
 *
 * Nothing comes for `lxc-destroy`: a running container is stopped first (reported as above), and a stopped one
 * just disappears, which only a `listRunning()` reconcile notices.
 *
 * One parser per lxc-monitor run: what it remembers (names between their exit line and STOPPED) lasts as long as
 * that run.
 */
export class LxcMonitorParser {
  readonly #options: LxcMonitorParserOptions;
  /** Exit code from the `exited` line, until the run's end states have passed. */
  readonly #exitCodes = new Map<string, number | undefined>();
  /** Containers whose current run was already reported dead, so STOPPED after STOPPING adds nothing. */
  readonly #reported = new Set<string>();

  constructor(options: LxcMonitorParserOptions) {
    this.#options = options;
  }

  parse(line: string): LxcMonitorEvent | undefined {
    const exit = exitLine.exec(line);
    if (exit !== null) {
      const [, name = '', status = ''] = exit;
      if (this.#options.isWatched(name)) this.#exitCodes.set(name, decodeMonitorExitStatus(Number(status)));
      return undefined;
    }
    const change = stateLine.exec(line);
    if (change === null) return undefined;
    const [, name = '', state = ''] = change;
    if (name === this.#options.probeName) return { kind: 'probe' };
    if (!this.#options.isWatched(name)) return undefined;
    if (startStates.has(state)) {
      this.#forget(name);
      return undefined;
    }
    if (!endStates.has(state)) return undefined;
    const alreadyReported = this.#reported.has(name);
    const exitCode = this.#exitCodes.get(name);
    if (state === 'STOPPED') this.#forget(name);
    else this.#reported.add(name);
    if (alreadyReported) return undefined;
    return {
      kind: 'died',
      death: { id: name, reason: 'died', ...(exitCode === undefined ? {} : { exitCode }), oomKilled: false },
    };
  }

  #forget(name: string): void {
    this.#exitCodes.delete(name);
    this.#reported.delete(name);
  }
}

/**
 * The exit code in lxc-monitor's `exited with status [N]`, or undefined when it cannot be known.
 *
 * LXC sends the init's raw wait status, and lxc-monitor prints `WEXITSTATUS()` of it: the exit code for an init
 * that exited, but 0 for one killed by a signal (the signal number sits in bits lxc-monitor drops). So 1-255 is a
 * real exit code, while 0 is either a clean exit or a kill (`kill -9`, `lxc-stop -k`, a halt inside the
 * container) and is reported as no exit code rather than as a false 0. Anything outside 0-255 cannot come from
 * WEXITSTATUS and is not trusted either.
 */
export function decodeMonitorExitStatus(printed: number): number | undefined {
  return Number.isInteger(printed) && printed >= 1 && printed <= 255 ? printed : undefined;
}
