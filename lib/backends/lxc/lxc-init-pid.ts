import { readFile } from 'node:fs/promises';
import { tryLxcCommand } from './lxc-commands.js';

/**
 * The host pid of a running container's init. Read from /proc when the container was started with
 * `lxc-start -p <monitorPidFile>`: that file holds the pid of LXC's monitor, whose child is the init (the
 * process whose pid inside its own namespace is 1), which costs two file reads instead of spawning
 * `lxc-info -p`. Falls back to lxc-info when /proc does not say it plainly (no children file in this kernel,
 * another layout). Undefined when neither knows: the container is not running.
 */
export async function lxcInitPid(lxcpath: string, name: string, monitorPidFile: string | undefined, signal: AbortSignal): Promise<number | undefined> {
  const fromProc = monitorPidFile === undefined ? undefined : await initPidFromMonitor(monitorPidFile);
  if (fromProc !== undefined) return fromProc;
  const info = await tryLxcCommand('lxc-info', ['-P', lxcpath, '-n', name, '-p', '-H'], { signal });
  const pid = Number(info.stdout.trim());
  return info.exitCode === 0 && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

async function initPidFromMonitor(monitorPidFile: string): Promise<number | undefined> {
  try {
    const monitor = (await readFile(monitorPidFile, 'utf8')).trim();
    if (!/^[1-9][0-9]*$/.test(monitor)) return undefined;
    const children = (await readFile(`/proc/${monitor}/task/${monitor}/children`, 'utf8')).trim().split(/\s+/);
    for (const child of children) {
      if (!/^[1-9][0-9]*$/.test(child)) continue;
      // NSpid lists the pid in each namespace from the host's down: the init's last is 1.
      const status = await readFile(`/proc/${child}/status`, 'utf8');
      const nsPids = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      if (nsPids.length > 1 && nsPids.at(-1) === '1') return Number(child);
    }
    return undefined;
  } catch {
    return undefined;
  }
}
