import { PassThrough } from 'node:stream';
import { main } from '../../harness/cli/main.js';

export interface CliOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the warmpool CLI in this process, as `warmpool ARGS` would, and captures its exit code and output. */
export async function runMain(args: string[]): Promise<CliOutcome> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await main(args, { stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** Streams for a command run directly: stdout is drained and dropped, stderr is kept for `err()`. */
export function stderrCapturingIo(): { stdout: PassThrough; stderr: PassThrough; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks: Buffer[] = [];
  stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  stdout.resume();
  return { stdout, stderr, err: () => Buffer.concat(chunks).toString('utf8') };
}
