import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { tryLxcCommand } from '../../../lib/backends/lxc/lxc-commands.js';
import { fail, pass, warn, type DoctorCheck } from '../check.js';

/** The base container serve clones is in the lxcpath, and stopped (clones are snapshots of it). */
export const lxcBaseCheck: DoctorCheck = {
  id: 'image',
  needs: ['engine'],
  async run({ settings }, signal) {
    const { lxcPath, lxcBase } = settings;
    const config = join(lxcPath, lxcBase, 'config');
    const fix = `create it (lxc-create -P ${lxcPath} -n ${lxcBase} -t busybox), or name one that is there with --lxc-base or WARMPOOL_LXC_BASE`;
    try {
      await access(config);
    } catch {
      return fail(`no LXC base container ${lxcBase} in ${lxcPath} (no ${config})`, fix);
    }
    const info = await tryLxcCommand('lxc-info', ['-P', lxcPath, '-n', lxcBase, '-s'], { signal });
    if (info.exitCode !== 0) return fail(`lxc-info cannot read the base ${lxcBase}: ${info.stderr.trim()}`, `repair or recreate it: ${fix}`);
    const state = /State:\s*(\S+)/.exec(info.stdout)?.[1] ?? 'UNKNOWN';
    if (state !== 'STOPPED') {
      return warn(`the base container ${lxcBase} in ${lxcPath} is ${state}; clones are snapshots of a stopped base`, `lxc-stop -P ${lxcPath} -n ${lxcBase}`);
    }
    return pass(`base container ${lxcBase} in ${lxcPath} is there (${state})`);
  },
};
