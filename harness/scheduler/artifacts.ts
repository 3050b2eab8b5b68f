import { mkdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunnableContainer } from '../../lib/container.js';
import { errorMessage } from '../../lib/errors.js';
import type { ArtifactResult } from './job-result.js';

export interface ArtifactOptions {
  /** Where `relativeDir` is. */
  readonly outDir: string;
  /** Stops collecting; what is left is noted as not collected. */
  readonly signal?: AbortSignal;
  /** The most time spent on all of them. @default 30_000 */
  readonly artifactTimeoutMs?: number;
}

/** Copies artifacts out, each to `<attempt dir>/artifacts/<its path>`; one that is missing is noted, not fatal. */
export async function collectArtifacts(
  container: RunnableContainer,
  paths: readonly string[],
  options: ArtifactOptions,
  relativeDir: string,
): Promise<ArtifactResult[]> {
  const results: ArtifactResult[] = [];
  const deadline = performance.now() + (options.artifactTimeoutMs ?? 30_000);
  for (const path of paths) {
    const remainingMs = deadline - performance.now();
    if (options.signal?.aborted || remainingMs <= 0) {
      results.push({ path, error: options.signal?.aborted ? 'not collected: interrupted' : 'not collected: ran out of time' });
      continue;
    }
    // posix.normalize keeps `/../x` inside the artifacts directory: it becomes `/x`.
    const file = posix.join(relativeDir, 'artifacts', posix.normalize(path).slice(1));
    const timers = new AbortController();
    try {
      const data = await Promise.race([
        container.readFile(path),
        sleep(remainingMs, undefined, { signal: timers.signal }).then(() => {
          throw new Error('not collected: ran out of time');
        }),
      ]);
      const target = join(options.outDir, file);
      await mkdir(join(target, '..'), { recursive: true });
      await writeFile(target, data);
      results.push({ path, file });
    } catch (error) {
      results.push({ path, error: errorMessage(error) });
    } finally {
      timers.abort();
    }
  }
  return results;
}
