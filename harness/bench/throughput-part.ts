import type { Measured, Run } from './bench-parts.js';

// Being written: the helper that owns this file replaces this body.
export function throughputPart(_run: Run): Promise<Measured> {
  return Promise.reject(new Error('throughput-part is not built yet'));
}
