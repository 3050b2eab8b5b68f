import { close, open } from 'node:fs';
import { Socket } from 'node:net';

/**
 * FIFOs of a container's agent, opened from the host. Always non-blocking: a blocking open of a FIFO waits for
 * the other end, and would hold one of libuv's few threads for as long as the agent does not come.
 */
export function openFifo(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => {
    open(path, flags, (error, fd) => (error === null ? resolve(fd) : reject(error)));
  });
}

export function closeFd(fd: number): void {
  close(fd, () => undefined);
}

/** A stream over an open FIFO: libuv polls it, so large writes wait for the reader instead of failing with EAGAIN. */
export function fifoStream(fd: number, direction: 'read' | 'write'): Socket {
  return new Socket({ fd, readable: direction === 'read', writable: direction === 'write' });
}
