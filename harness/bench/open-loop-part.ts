import type { Measured, Run } from './bench-parts.js';

// Being written: the helper that owns this file replaces this body.
export function openLoopPart(_run: Run): Promise<Measured> {
  return Promise.reject(new Error('open-loop-part is not built yet'));
}
