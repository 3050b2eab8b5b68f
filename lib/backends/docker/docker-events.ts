import { StringDecoder } from 'node:string_decoder';
import type { Clock } from '../../clock.js';
import type { ContainerDeath } from '../../container.js';
import { poolLabel } from './docker-labels.js';

/**
 * Splits the engine's event stream into JSON values. dockerd writes one JSON object per line, but a chunk may end
 * in the middle of a line (or of a multi-byte character), so the tail waits for the next chunk. A line that is
 * not JSON is skipped: one garbled event must not stop the watch.
 */
export class JsonLines {
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';

  push(chunk: Buffer | string): unknown[] {
    const text = this.#partial + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    const values: unknown[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        values.push(JSON.parse(line));
      } catch {
        // Skipped, see above.
      }
    }
    return values;
  }
}

/** The parts of a Docker engine event this backend reads. */
interface DockerEvent {
  readonly Type?: unknown;
  readonly Action?: unknown;
  /** Older engines name the action here. */
  readonly status?: unknown;
  readonly id?: unknown;
  readonly Actor?: { readonly ID?: unknown; readonly Attributes?: Record<string, unknown> };
}

/** The engine events that mean a container of the pool died or is gone, and the `oom` that explains a die. */
export const deathEventActions = ['die', 'oom', 'destroy'] as const;

/** How long an `oom` event waits for the `die` it explains: the engine sends them a moment apart. */
const oomMemoryMs = 10_000;

/**
 * Turns engine events into deaths of one pool's containers. A `die` reports the exit code the engine gives; the
 * kernel's OOM killer shows up as an `oom` event just before the `die`, so an `oom` is remembered per container
 * for a few seconds and marks the next `die` (or `destroy`) as an OOM kill. An `oom` alone is no death: the OOM
 * killer may have ended some other process in the container (an exec'd command) and the container runs on.
 */
export class DockerDeathEvents {
  readonly #poolId: string;
  readonly #clock: Clock;
  readonly #oomAt = new Map<string, number>();

  constructor(poolId: string, clock: Clock) {
    this.#poolId = poolId;
    this.#clock = clock;
  }

  /** The death `event` reports, or undefined for any other event, or one of another pool. */
  translate(event: unknown): ContainerDeath | undefined {
    if (typeof event !== 'object' || event === null) return undefined;
    const { Type: type, Action: action, status, id, Actor: actor } = event as DockerEvent;
    if (type !== undefined && type !== 'container') return undefined;
    const containerId = typeof actor?.ID === 'string' ? actor.ID : id;
    if (typeof containerId !== 'string' || containerId === '') return undefined;
    // The engine filtered on the label already; checking again costs nothing and keeps other pools out for sure.
    const attributes = actor?.Attributes ?? {};
    if (attributes[poolLabel] !== this.#poolId) return undefined;

    this.#forgetOldOoms();
    switch (action ?? status) {
      case 'oom':
        this.#oomAt.set(containerId, this.#clock.now());
        return undefined;
      case 'die':
        return { id: containerId, reason: 'died', ...exitCodeOf(attributes), oomKilled: this.#takeOom(containerId) };
      case 'destroy':
        return { id: containerId, reason: 'removed', oomKilled: this.#takeOom(containerId) };
      default:
        return undefined;
    }
  }

  #takeOom(id: string): boolean {
    return this.#oomAt.delete(id);
  }

  #forgetOldOoms(): void {
    const oldest = this.#clock.now() - oomMemoryMs;
    for (const [id, at] of this.#oomAt) if (at < oldest) this.#oomAt.delete(id);
  }
}

function exitCodeOf(attributes: Record<string, unknown>): { exitCode?: number } {
  const raw = attributes.exitCode;
  if (typeof raw !== 'string' && typeof raw !== 'number') return {};
  if (typeof raw === 'string' && raw.trim() === '') return {};
  const exitCode = Number(raw);
  return Number.isInteger(exitCode) ? { exitCode } : {};
}
