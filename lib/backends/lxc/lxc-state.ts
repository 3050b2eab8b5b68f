import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerState } from '../../container.js';
import { tryLxcCommand } from './lxc-commands.js';

/**
 * The state of one container by `lxc-info -s` (a few milliseconds, no polling loop). A container whose
 * directory has left the lxcpath is `gone`; `lxc-info` itself cannot tell a missing container from a stopped
 * one, so the directory is checked first.
 */
export async function lxcContainerState(lxcpath: string, name: string): Promise<ContainerState> {
  if (!(await exists(join(lxcpath, name, 'config')))) return 'gone';
  const { exitCode, stdout } = await tryLxcCommand('lxc-info', ['-P', lxcpath, '-n', name, '-s', '-H']);
  if (exitCode !== 0) return (await exists(join(lxcpath, name, 'config'))) ? 'stopped' : 'gone';
  return stdout.trim() === 'RUNNING' || stdout.trim() === 'FROZEN' ? 'running' : 'stopped';
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
