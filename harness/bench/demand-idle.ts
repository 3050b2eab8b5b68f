/** How many ready containers a pool held from `atMs` on, until the next sample. */
export interface ReadySample {
  readonly atMs: number;
  readonly ready: number;
}

/**
 * The integral of ready containers over [fromMs, toMs], in container-seconds: the samples as a step function,
 * each value holding from its time to the next sample's (the last to `toMs`). Samples must be in time order
 * (equal times allowed: the last one at a time wins) and the first must be at or before `fromMs`, so every
 * instant of the window has a known value.
 */
export function idleContainerSeconds(samples: readonly ReadySample[], fromMs: number, toMs: number): number {
  if (!(Number.isFinite(fromMs) && Number.isFinite(toMs) && toMs >= fromMs)) throw new RangeError(`Expected a window with toMs >= fromMs, got [${fromMs}, ${toMs}]`);
  const first = samples[0];
  if (first === undefined || first.atMs > fromMs) throw new RangeError(`Expected a sample at or before the window's start (${fromMs} ms), got ${first?.atMs ?? 'none'}`);
  let containerMs = 0;
  for (const [index, sample] of samples.entries()) {
    if (!(Number.isFinite(sample.ready) && sample.ready >= 0)) throw new RangeError(`Expected ready counts from 0 up, got ${sample.ready} at ${sample.atMs} ms`);
    const next = samples[index + 1];
    if (next && next.atMs < sample.atMs) throw new RangeError(`Expected samples in time order, got ${next.atMs} ms after ${sample.atMs} ms`);
    const start = Math.max(sample.atMs, fromMs);
    const end = Math.min(next?.atMs ?? toMs, toMs);
    if (end > start) containerMs += sample.ready * (end - start);
  }
  return containerMs / 1000;
}

/**
 * Ready counts over time, read whenever something may have changed them (the replay calls `sample()` on every
 * pool event and checkout) and every `intervalMs` besides, so a change no event marks is off by one interval at
 * most. `now` and `read` are injected: the replay gives performance.now() and the kind's status.
 */
export class ReadyTimeline {
  readonly #samples: ReadySample[] = [];
  readonly #now: () => number;
  readonly #read: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(now: () => number, read: () => number) {
    this.#now = now;
    this.#read = read;
  }

  get samples(): readonly ReadySample[] {
    return this.#samples;
  }

  sample(): void {
    const atMs = this.#now();
    const ready = this.#read();
    // Kept in time order even if a sample is taken while another reads (an event fired during the read): the
    // later reading wins from the later time.
    this.#samples.push({ atMs: Math.max(atMs, this.#samples.at(-1)?.atMs ?? atMs), ready });
  }

  /** Samples now and then every `intervalMs` until `stop()`. The timer does not keep the process alive. */
  start(intervalMs: number): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
