import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import { BackendError } from '../../errors.js';
import { randomSuffix } from '../owner.js';

/**
 * The watch's proof that its `lxc-monitor` is subscribed: a message of its own, sent the way LXC's containers
 * send theirs, that comes back out of lxc-monitor's stdout.
 *
 * Containers report state changes by writing a fixed-size message into a FIFO that `lxc-monitord` (one per
 * lxcpath) reads and forwards to every connected lxc-monitor. lxc-monitor prints no line when it has connected,
 * and its socket showing up in /proc proves only that connect() returned, not that lxc-monitord has accepted
 * it and will forward the next message. A probe written into the same FIFO and read back proves the whole
 * path: every state change written after it reaches this lxc-monitor too. Measured on this machine (LXC 5.0.2):
 * the first probe comes back 10-15 ms after lxc-monitor is spawned.
 *
 * The probe's name cannot be a container's (':' is in no pool id and in no LXC name warmpool makes) and holds
 * the pid and a random suffix, so only the lxc-monitor that asked for it prints it, and no other watch (of this
 * pool or another) mistakes it for a container. A person running `lxc-monitor -n '.*'` on the same lxcpath sees
 * these lines go by.
 */

/** `struct lxc_msg` (LXC's src/lxc/monitor.h, the same since LXC 1.0): int type; char name[NAME_MAX + 1]; int value. */
const nameBytes = 256;
const messageBytes = 4 + nameBytes + 4;
/** `lxc_msg_state`, and the state the probe claims (`RUNNING`), so lxc-monitor prints it as a state change. */
const stateMessageType = 0;
const runningState = 2;

/** A probe name for one watch: `warmpool-watch:<poolId>:<pid>:<8 hex>`. */
export function monitorProbeName(poolId: string): string {
  return `warmpool-watch:${poolId}:${String(process.pid)}:${randomSuffix()}`;
}

/** The message LXC's containers write into the FIFO, naming `name`, in the host's byte order. */
export function encodeMonitorStateMessage(name: string): Buffer {
  const encoded = Buffer.from(name, 'utf8');
  if (encoded.length >= nameBytes) throw new RangeError(`A monitor message name has at most ${nameBytes - 1} bytes`);
  const message = Buffer.alloc(messageBytes);
  const littleEndian = endianness() === 'LE';
  if (littleEndian) message.writeInt32LE(stateMessageType, 0);
  else message.writeInt32BE(stateMessageType, 0);
  encoded.copy(message, 4);
  if (littleEndian) message.writeInt32LE(runningState, 4 + nameBytes);
  else message.writeInt32BE(runningState, 4 + nameBytes);
  return message;
}

/**
 * Where lxc-monitord reads for `lxcpath`: `<rundir>/lxc/<lxcpath>/monitor-fifo`, with the rundir LXC's
 * `get_rundir()` picks (/run when this user owns it or is in its group, as root is; else $XDG_RUNTIME_DIR; else
 * ~/.cache/lxc/run/). The lxcpath is appended as given, as LXC does (hence the double slash).
 */
export async function monitorFifoPath(lxcpath: string): Promise<string> {
  const runtimePath = '/run';
  let runDirectory: string | undefined;
  try {
    const owner = await stat(runtimePath);
    if (process.geteuid?.() === owner.uid || process.getegid?.() === owner.gid) runDirectory = runtimePath;
  } catch {
    // No /run: LXC itself then has no FIFO either; the probe fails and says where it looked.
  }
  runDirectory ??= process.env['XDG_RUNTIME_DIR'] ?? `${process.env['HOME'] ?? ''}/.cache/lxc/run/`;
  return `${runDirectory}/lxc/${lxcpath}/monitor-fifo`;
}

/**
 * Writes one probe into the FIFO. Rejects while no lxc-monitord reads it (ENXIO; ENOENT before its first
 * start), which the watch answers by trying again shortly.
 */
export async function sendMonitorProbe(fifoPath: string, message: Buffer): Promise<void> {
  // Non-blocking, as LXC's containers open it: with no reader, open fails at once instead of waiting for one.
  const handle = await open(fifoPath, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    // Shorter than PIPE_BUF, so written whole or not at all.
    const { bytesWritten } = await handle.write(message);
    if (bytesWritten !== message.length) {
      throw new BackendError(`Wrote ${String(bytesWritten)} of ${String(message.length)} bytes to ${fifoPath}`);
    }
  } finally {
    await handle.close();
  }
}
