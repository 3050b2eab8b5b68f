import { readdir, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { fail, pass, warn, type DoctorCheck } from '../check.js';

/**
 * The LXC backend clones its base as an overlayfs snapshot (`lxc-copy -s -B overlayfs`), so the kernel needs
 * overlay. Not yet in /proc/filesystems may only mean its module loads on the first mount.
 */
export const overlayCheck: DoctorCheck = {
  id: 'overlay',
  async run() {
    const filesystems = await readFile('/proc/filesystems', 'utf8');
    if (filesystems.split('\n').some((line) => line.trim().split(/\s+/).pop() === 'overlay')) return pass('the kernel has overlay (snapshot clones work)');
    if (await hasOverlayModule()) {
      return warn('overlay is not loaded yet; its module is there and loads at the first snapshot clone', 'modprobe overlay, and list it in /etc/modules-load.d/ to load it at boot');
    }
    return fail('the kernel has no overlay file system, which the LXC backend\'s snapshot clones need', 'modprobe overlay (install the kernel\'s modules package if it is missing)');
  },
};

async function hasOverlayModule(): Promise<boolean> {
  try {
    return (await readdir(join('/lib/modules', release(), 'kernel', 'fs', 'overlayfs'))).some((name) => name.startsWith('overlay.ko'));
  } catch {
    return false;
  }
}
