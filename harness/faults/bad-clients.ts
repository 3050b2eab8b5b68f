import { createConnection, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

/**
 * Misbehaving clients of the pool service, each a raw unix-socket connection this process owns. None of them
 * ever reads an answer unless said so; `destroyAll()` closes every one.
 */
export class BadClients {
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Sockets the service wrote something to (an answer, or the error it closes an over-the-cap connection with). */
  readonly #answered = new WeakSet<Socket>();
  readonly #socketPath: string;
  /** Connections the service refused or closed on its own. */
  closedByService = 0;
  /** Connections that could not be opened at all. */
  refused = 0;

  constructor(socketPath: string) {
    this.#socketPath = socketPath;
  }

  get open(): number {
    return this.#sockets.size;
  }

  /** Connects; resolves with the socket, or undefined if the service refused the connection. */
  async connect(options: { read?: boolean } = {}): Promise<Socket | undefined> {
    const socket = createConnection(this.#socketPath);
    socket.on('error', () => undefined);
    // A client that never reads: its receive buffer fills and the service's writes back up.
    if (options.read === false) socket.pause();
    else socket.on('data', () => this.#answered.add(socket));
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (!connected) {
      this.refused++;
      socket.destroy();
      return undefined;
    }
    this.#sockets.add(socket);
    socket.once('close', () => {
      if (this.#sockets.delete(socket)) this.closedByService++;
    });
    return socket;
  }

  /** Sends a valid request one byte every `byteMs`, never finishing quickly. */
  async slow(byteMs = 200): Promise<void> {
    const socket = await this.connect();
    if (!socket) return;
    const bytes = Buffer.from(`${JSON.stringify({ id: 1, type: 'status' })}\n`);
    let next = 0;
    const timer = setInterval(() => {
      if (next >= bytes.length || socket.destroyed) {
        clearInterval(timer);
        this.#timers.delete(timer);
        return;
      }
      socket.write(bytes.subarray(next, ++next));
    }, byteMs);
    this.#timers.add(timer);
  }

  /** Connects and says nothing at all. */
  async silent(): Promise<void> {
    await this.connect();
  }

  /** Sends half a request line and then nothing. */
  async halfLine(): Promise<void> {
    (await this.connect())?.write('{"id":1,"type":"get","timeoutMs":');
  }

  /** Random bytes, malformed JSON, unknown types and fields, and a line far over the service's 64 KiB limit. */
  async garbage(lines = 200): Promise<void> {
    const socket = await this.connect();
    if (!socket) return;
    const junk: string[] = [];
    for (let line = 0; line < lines; line++) {
      switch (line % 5) {
        case 0:
          junk.push(randomBytes(64).toString('latin1').replaceAll('\n', ' '));
          break;
        case 1:
          junk.push('{"id":');
          break;
        case 2:
          junk.push(JSON.stringify({ id: line, type: 'explode' }));
          break;
        case 3:
          junk.push(JSON.stringify({ id: line, type: 'get', timeoutMs: 'soon', extra: true }));
          break;
        default:
          junk.push('null');
      }
    }
    socket.write(`${junk.join('\n')}\n`);
    socket.write(`${'x'.repeat(256 * 1024)}\n`);
  }

  /** Sends `requests` status requests and never reads an answer. */
  async neverReading(requests = 5000): Promise<void> {
    const socket = await this.connect({ read: false });
    if (!socket) return;
    const lines: string[] = [];
    for (let id = 1; id <= requests; id++) lines.push(JSON.stringify({ id, type: 'status' }));
    socket.write(`${lines.join('\n')}\n`);
  }

  /** One client that asks for `gets` containers at once, each waiting without a time limit. */
  async greedy(gets: number): Promise<void> {
    const socket = await this.connect();
    if (!socket) return;
    const lines: string[] = [];
    for (let id = 1; id <= gets; id++) lines.push(JSON.stringify({ id, type: 'get', timeoutMs: null }));
    socket.write(`${lines.join('\n')}\n`);
  }

  /**
   * Opens `count` connections that say nothing, beyond whatever is open: past the service's cap each must be
   * answered (its error) and closed, never left in silence. Waits up to `settleMs` for those answers, closes
   * all of them, and resolves with how many the service answered or closed.
   */
  async flood(count: number, settleMs: number): Promise<{ opened: number; answeredOrClosed: number }> {
    const sockets: Socket[] = [];
    for (let index = 0; index < count; index++) {
      const socket = await this.connect();
      if (socket) sockets.push(socket);
    }
    const heard = (): number => sockets.filter((socket) => socket.destroyed || this.#answered.has(socket) || !this.#sockets.has(socket)).length;
    const deadline = Date.now() + settleMs;
    while (Date.now() < deadline && heard() < sockets.length) await new Promise((resolve) => setTimeout(resolve, 50));
    const answeredOrClosed = heard();
    for (const socket of sockets) {
      this.#sockets.delete(socket);
      socket.destroy();
    }
    return { opened: count, answeredOrClosed: answeredOrClosed + (count - sockets.length) };
  }

  destroyAll(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.clear();
    const sockets = [...this.#sockets];
    this.#sockets.clear();
    for (const socket of sockets) socket.destroy();
  }
}
