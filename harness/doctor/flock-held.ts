import { readFile, stat } from 'node:fs/promises';

/**
 * Whether some process holds a flock(2) on the file at `path`, read from /proc/locks without touching the lock:
 * taking it to see (even shared, even for an instant) could make a service starting in that instant refuse to
 * start. Undefined when /proc/locks cannot be read (not Linux, a hardened /proc).
 *
 * /proc/locks names a lock's file by device and inode (`FLOCK ADVISORY WRITE <pid> <maj>:<min>:<inode> …`, major
 * and minor in hex). Its pid is the process that took the lock, which for warmpool's lock is the short-lived
 * flock(1) helper, so only the presence of the line is used.
 */
export async function isFlockHeld(path: string, locksFile = '/proc/locks'): Promise<boolean | undefined> {
  let locks: string;
  try {
    locks = await readFile(locksFile, 'utf8');
  } catch {
    return undefined;
  }
  const info = await stat(path, { bigint: true });
  const wanted = `${deviceMajor(info.dev).toString(16)}:${deviceMinor(info.dev).toString(16)}:${info.ino}`;
  return locks.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    // Waiters print "->" before the type; they do not hold the lock.
    if (fields[1] !== 'FLOCK') return false;
    const file = fields[5]?.split(':') ?? [];
    const normalized = file.length === 3 ? `${BigInt(`0x${file[0]}`).toString(16)}:${BigInt(`0x${file[1]}`).toString(16)}:${file[2]}` : '';
    return normalized === wanted;
  });
}

// glibc's gnu_dev_major/minor, which is how a dev_t from stat splits into the numbers the kernel prints.
function deviceMajor(dev: bigint): bigint {
  return ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
}

function deviceMinor(dev: bigint): bigint {
  return (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
}
