import { readdir, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { fail, pass, warn, type CheckOutcome, type DoctorCheck } from '../check.js';

/**
 * From /proc/filesystems, and whether the kernel's overlay module is installed: not yet listed may only mean the
 * module loads at the first mount.
 */
export function overlayOutcome(filesystems: string, moduleInstalled: boolean): CheckOutcome {
  if (filesystems.split('\n').some((line) => line.trim().split(/\s+/).pop() === 'overlay')) return pass('the kernel has overlay (snapshot clones work)');
  if (moduleInstalled) {
    return warn('overlay is not loaded yet; its module is installed and loads at the first snapshot clone', 'modprobe overlay, and list it in /etc/modules-load.d/ to load it at boot');
  }
  return fail("the kernel has no overlay file system, which the LXC backend's snapshot clones need", "modprobe overlay (install the kernel's modules package if it is missing)");
}

/** The LXC backend clones its base as an overlayfs snapshot (`lxc-copy -s -B overlayfs`): the kernel needs overlay. */
export const overlayCheck: DoctorCheck = {
  id: 'overlay',
  run: async () => overlayOutcome(await readFile('/proc/filesystems', 'utf8'), await hasOverlayModule()),
};

async function hasOverlayModule(): Promise<boolean> {
  try {
    return (await readdir(join('/lib/modules', release(), 'kernel', 'fs', 'overlayfs'))).some((name) => name.startsWith('overlay.ko'));
  } catch {
    return false;
  }
}
