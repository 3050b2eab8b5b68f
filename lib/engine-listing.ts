import type { Clock } from './clock.js';
import type { Container, ContainerFactory } from './container.js';
import { EngineUnavailableError, PoolClosedError } from './errors.js';

/** What the engine said: the ids it runs, or why it could not say. */
export type EngineListing = { readonly running: ReadonlySet<string> } | { readonly error: unknown };

/**
 * The factory's `listRunning()` with a deadline, cut short when `lifetime` aborts (the pool's cleanup).
 * Never rejects, and settles on the deadline even if the factory ignores its signal, so a probe or a
 * reconcile can never hang for good on an engine that accepts the call and never answers.
 */
export async function listRunningWithin<C extends Container>(
  factory: ContainerFactory<C>,
  clock: Clock,
  timeoutMs: number,
  lifetime: AbortSignal,
): Promise<EngineListing> {
  if (typeof factory.listRunning !== 'function') return { error: new Error('the factory cannot list its containers') };
  const controller = new AbortController();
  let timer: unknown;
  let onClose: (() => void) | undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    const stop = (reason: Error): void => {
      controller.abort(reason);
      reject(reason);
    };
    timer = clock.setTimeout(() => stop(new EngineUnavailableError(`The engine did not list its containers within ${timeoutMs} ms`)), timeoutMs);
    onClose = () => stop(new PoolClosedError());
    if (lifetime.aborted) onClose();
    else lifetime.addEventListener('abort', onClose, { once: true });
  });
  try {
    // Called inside the try so a factory that throws synchronously is handled like one that rejects.
    return { running: await Promise.race([factory.listRunning(controller.signal), stopped]) };
  } catch (error) {
    return { error };
  } finally {
    clock.clearTimeout(timer);
    if (onClose) lifetime.removeEventListener('abort', onClose);
  }
}
