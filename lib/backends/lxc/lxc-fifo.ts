import { close, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';

/**
 * Opens a FIFO of a container's agent from the host, always with O_NONBLOCK, so the call returns at once (a
 * blocking open waits for the other end, for as long as the agent does not come). Synchronous on purpose: it
 * costs microseconds, while libuv's few threads, which an async open would queue for, are busy with the job
 * runner's log files exactly when jobs start, which put milliseconds on the job's path.
 */
export function openFifo(path: string, flags: number): number {
  return openSync(path, flags | constants.O_NONBLOCK);
}

export function closeFd(fd: number): void {
  close(fd, () => undefined);
}

/** A stream over an open FIFO: libuv polls it, so large writes wait for the reader instead of failing with EAGAIN. */
export function fifoStream(fd: number, direction: 'read' | 'write'): Socket {
  return new Socket({ fd, readable: direction === 'read', writable: direction === 'write' });
}
