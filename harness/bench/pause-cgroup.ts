/**
 * The CPU time a container's processes used, from its cgroup: every process of a Docker or LXC container is in
 * one cgroup, frozen ones included, so its usage counter is what the container cost the host, whatever runs
 * beside it on the machine. Linux only.
 */
import { readFile } from 'node:fs/promises';
import Dockerode from 'dockerode';
import { execa } from 'execa';
import type { BackendSettings } from '../backend.js';

/** Where a cgroup's CPU usage is, and in which form: cgroup v1's cpuacct.usage (ns) or v2's cpu.stat (usage_usec). */
export interface CpuUsageFile {
  readonly path: string;
  readonly format: 'cpuacct.usage' | 'cpu.stat';
}

/**
 * The usage file of the cgroup in a `/proc/<pid>/cgroup` text: cgroup v1's cpuacct hierarchy when the process
 * has one (its directory under `root` is named as the line lists its controllers: `cpuacct` or `cpu,cpuacct`),
 * else the unified hierarchy's cpu.stat (`0::/path`), which cgroup v2 keeps whether or not the cpu controller is on.
 * @throws Error when the text has neither
 */
export function cpuUsageFileOf(procCgroup: string, root = '/sys/fs/cgroup'): CpuUsageFile {
  let unified: string | undefined;
  for (const line of procCgroup.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers = '', path = ''] = match;
    if (controllers.split(',').includes('cpuacct')) return { path: joinCgroup(root, controllers, path, 'cpuacct.usage'), format: 'cpuacct.usage' };
    if (id === '0' && controllers === '') unified = path;
  }
  if (unified !== undefined) return { path: joinCgroup(root, '', unified, 'cpu.stat'), format: 'cpu.stat' };
  throw new Error(`No cpuacct or unified cgroup in ${JSON.stringify(procCgroup.slice(0, 200))}`);
}

function joinCgroup(root: string, hierarchy: string, path: string, file: string): string {
  return [root, hierarchy, path, file]
    .filter((part) => part !== '' && part !== '/')
    .join('/')
    .replace(/\/{2,}/g, '/');
}

/** Milliseconds of CPU in a usage file's text. @throws Error when the text is not of that format */
export function parseCpuUsageMs(text: string, format: CpuUsageFile['format']): number {
  if (format === 'cpuacct.usage') {
    const nanoseconds = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(nanoseconds) || nanoseconds < 0) throw new Error(`Expected a count of nanoseconds in cpuacct.usage, got ${JSON.stringify(text)}`);
    return nanoseconds / 1e6;
  }
  const match = /^usage_usec (\d+)$/m.exec(text);
  if (!match?.[1]) throw new Error(`Expected a usage_usec line in cpu.stat, got ${JSON.stringify(text.slice(0, 200))}`);
  return Number(match[1]) / 1000;
}

/** The usage file of the cgroup the process `pid` is in. */
export async function cpuUsageFileOfPid(pid: number): Promise<CpuUsageFile> {
  return cpuUsageFileOf(await readFile(`/proc/${pid}/cgroup`, 'utf8'));
}

export async function readCpuUsageMs(file: CpuUsageFile): Promise<number> {
  return parseCpuUsageMs(await readFile(file.path, 'utf8'), file.format);
}

/** The host pid of a container's first process: Docker's inspect, LXC's `lxc-info -pH`. */
export async function containerPid(settings: BackendSettings, container: { id: string; name: string }): Promise<number> {
  let pid: number;
  if (settings.backend === 'docker') {
    const docker = new Dockerode({ socketPath: settings.dockerSocket });
    pid = (await docker.getContainer(container.id).inspect()).State.Pid;
  } else {
    const { stdout } = await execa('lxc-info', ['-P', settings.lxcPath, '-n', container.name, '-pH'], { stdin: 'ignore', timeout: 10_000 });
    pid = Number(stdout.trim());
  }
  if (!(Number.isSafeInteger(pid) && pid > 0)) throw new Error(`The ${settings.backend} engine gave no pid for ${container.name} (got ${pid})`);
  return pid;
}
