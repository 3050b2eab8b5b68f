import { Writable } from 'node:stream';
import { agentMarkers } from './agent-protocol.js';

/**
 * The agent's two output streams with its marker lines taken out. They travel separately (Docker copies each; an
 * LXC agent writes each to a FIFO of its own), so the command's status (last on stderr) may arrive before the last
 * of its stdout: the run is finished only once both the status and stdout's end marker are in.
 */
export class AgentOutput {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly finished: Promise<'finished'>;
  started = false;
  isFinished = false;
  noCwd = false;
  exitCode: number | undefined;
  readonly #stdout = new MarkedStream();
  readonly #stderr = new MarkedStream();
  readonly #markers: { started: string; exit: RegExp; noCwd: string; end: string };

  constructor(nonce: string) {
    this.#markers = {
      started: `${nonce}:${agentMarkers.started}\n`,
      exit: new RegExp(`${nonce}:${agentMarkers.exit}(\\d+)\\n`),
      noCwd: `${nonce}:${agentMarkers.noCwd}\n`,
      end: `${nonce}:${agentMarkers.end}\n`,
    };
    let finish: (value: 'finished') => void = () => undefined;
    this.finished = new Promise((resolve) => (finish = resolve));
    let stdoutEnded = false;
    let statusKnown = false;
    const check = (): void => {
      if (!stdoutEnded || !statusKnown) return;
      this.isFinished = true;
      finish('finished');
    };
    this.stdout = this.#stdout.writable(() => {
      if (!stdoutEnded && this.#stdout.takeFromEnd(this.#markers.end)) {
        stdoutEnded = true;
        check();
      }
    });
    this.stderr = this.#stderr.writable(() => {
      if (!this.started && this.#stderr.takeFromStart(this.#markers.started)) this.started = true;
      if (statusKnown) return;
      const status = this.#stderr.takeMatchFromEnd(this.#markers.exit);
      if (status !== undefined) {
        this.exitCode = Number(status);
        statusKnown = true;
      } else if (this.#stderr.takeFromEnd(this.#markers.noCwd)) {
        this.noCwd = true;
        statusKnown = true;
      }
      check();
    });
  }

  stdoutText(): string {
    return this.#stdout.text();
  }

  stderrText(): string {
    return this.#stderr.text();
  }
}

/** Collected bytes of one stream, from which marker lines can be cut at the start or the end. */
class MarkedStream {
  readonly #chunks: Buffer[] = [];
  #length = 0;

  writable(onData: () => void): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.#chunks.push(chunk);
        this.#length += chunk.length;
        onData();
        callback();
      },
    });
  }

  takeFromStart(marker: string): boolean {
    if (this.#length < marker.length) return false;
    const head = Buffer.concat(this.#chunks);
    if (head.toString('latin1', 0, marker.length) !== marker) return false;
    this.#replace(head.subarray(marker.length));
    return true;
  }

  takeFromEnd(marker: string): boolean {
    if (!this.#tail().endsWith(marker)) return false;
    this.#cutEnd(marker.length);
    return true;
  }

  /** Cuts a match of `pattern` that ends the stream's bytes, and returns its first group. */
  takeMatchFromEnd(pattern: RegExp): string | undefined {
    const match = new RegExp(`${pattern.source}$`).exec(this.#tail());
    if (match?.[1] === undefined) return undefined;
    this.#cutEnd(match[0].length);
    return match[1];
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }

  /** The last bytes, enough to hold any marker: chunks are only joined at the end, so long output stays linear. */
  #tail(): string {
    const parts: Buffer[] = [];
    let length = 0;
    for (let index = this.#chunks.length - 1; index >= 0 && length < tailBytes; index--) {
      const chunk = this.#chunks[index] as Buffer;
      parts.unshift(chunk);
      length += chunk.length;
    }
    const joined = Buffer.concat(parts);
    return joined.toString('latin1', Math.max(0, joined.length - tailBytes));
  }

  #cutEnd(bytes: number): void {
    const all = Buffer.concat(this.#chunks);
    this.#replace(all.subarray(0, all.length - bytes));
  }

  #replace(bytes: Buffer): void {
    this.#chunks.length = 0;
    this.#chunks.push(bytes);
    this.#length = bytes.length;
  }
}

/** Longer than any marker line (a 24-digit nonce, a name and a status). */
const tailBytes = 128;
