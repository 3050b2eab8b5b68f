import { EngineUnavailableError, errorMessage } from './errors.js';

const engineUnavailableCode = 'ERR_WARMPOOL_ENGINE_UNAVAILABLE';
// A factory may wrap the engine's error once or twice (a BackendError around it, say); deeper is not an outage.
const maxCauseDepth = 5;

/**
 * The EngineUnavailableError in `error` or its chain of causes, if any: the sign that a failure is an engine
 * outage (which the pool handles as one state) rather than a failure of this container or image (which counts
 * toward the throttle). Matched by `code` as well as by class, so an error from another copy of the library
 * counts too.
 */
export function findEngineUnavailable(error: unknown): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; depth <= maxCauseDepth && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof EngineUnavailableError) return current;
    if ((current as { code?: unknown }).code === engineUnavailableCode) {
      return current instanceof Error ? current : new EngineUnavailableError(errorMessage(current), { cause: current });
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
