/**
 * What of a job's stdout and stderr travels through Redis with its result. Redis holds the lab's queues in memory
 * with `noeviction`: a job printing megabytes would fill it and stop every host, so each stream of each attempt
 * travels up to a cap (its end, where the failure usually is), marked when cut. The submitter writes every log
 * from its result; only a log the cap cut is also written, whole, in the worker's --out directory (see
 * keepCutLogs), where the cut log's first line points.
 */

import type { LogFiles, LogSink } from '../scheduler/log-files.js';

/** Bytes of each stream of each attempt that travel with a result. */
export const defaultOutputCapBytes = 64 * 1024;

export interface CappedText {
  /** The end of the text, at most the cap in UTF-8 bytes, never a character cut in two. */
  readonly text: string;
  /** Bytes cut from the front (0 when it fitted). */
  readonly droppedBytes: number;
}

/** Whether `text` is at most `maxBytes` bytes in UTF-8: whether capOutput keeps it whole. */
export function fitsCap(text: string, maxBytes: number): boolean {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most output is far under the cap and needs no counting.
  return text.length * 3 <= maxBytes || Buffer.byteLength(text, 'utf8') <= maxBytes;
}

/** The last `maxBytes` bytes of `text` (UTF-8), starting on a whole character. */
export function capOutput(text: string, maxBytes: number = defaultOutputCapBytes): CappedText {
  if (fitsCap(text, maxBytes)) return { text, droppedBytes: 0 };
  const bytes = Buffer.from(text, 'utf8');
  let start = bytes.length - maxBytes;
  // Continuation bytes are 10xxxxxx: step past them to the start of the next character.
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return { text: bytes.subarray(start).toString('utf8'), droppedBytes: start };
}

/** The first line of a log file written from a capped stream, saying what is missing and where the rest is. */
export function truncationMarker(droppedBytes: number, wholeLogAt: string): string {
  return `[warmpool: the first ${droppedBytes} bytes of this log were cut on its way through Redis; the whole log is at ${wholeLogAt}]\n`;
}

/**
 * A sink that passes on to `sink` only the log files the cap cuts (those whose content does not fit `maxBytes`),
 * for the whole copy a cut log's marker points at; an attempt whose logs all fit writes nothing, not even its
 * directory: each of its logs travels whole with the result, and the submitter writes it.
 */
export function keepCutLogs(sink: LogSink, maxBytes: number): LogSink {
  return {
    write({ dir, files }: LogFiles): void {
      const cut = files.filter(([, content]) => !fitsCap(content, maxBytes));
      if (cut.length > 0) sink.write({ dir, files: cut });
    },
  };
}
