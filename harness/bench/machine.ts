import { cpus, freemem, loadavg, release, totalmem, version as osVersion } from 'node:os';
import Dockerode from 'dockerode';
import { execa } from 'execa';
import type { BackendSettings } from '../backend.js';

/** What the figures were measured on. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly node: string;
  /** `uname -r` and the kernel's version string. */
  readonly kernel: string;
  readonly kernelVersion: string;
  readonly engine: { readonly backend: BackendSettings['backend']; readonly version: string };
}

/**
 * How busy the machine was around the run: other processes share the cores, and figures taken under load are
 * slower than on a quiet machine.
 */
export interface LoadInfo {
  readonly loadAverageAtStart: readonly number[];
  readonly loadAverageAtEnd: readonly number[];
  /** Share of all cores' time spent busy (by anything, the bench included) over the run. */
  readonly cpuBusyPercent: number;
  readonly freeMemoryBytesAtStart: number;
}

export async function describeMachine(settings: BackendSettings): Promise<MachineInfo> {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cores: processors.length,
    memoryBytes: totalmem(),
    node: process.version,
    kernel: release(),
    kernelVersion: osVersion(),
    engine: { backend: settings.backend, version: await engineVersion(settings) },
  };
}

async function engineVersion(settings: BackendSettings): Promise<string> {
  try {
    if (settings.backend === 'docker') {
      const docker = new Dockerode({ socketPath: settings.dockerSocket });
      const { Version, ApiVersion } = await docker.version();
      return `Docker ${Version} (API ${ApiVersion})`;
    }
    const { stdout } = await execa('lxc-start', ['--version'], { stdin: 'ignore', timeout: 10_000 });
    return `LXC ${stdout.trim()}`;
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message : String(error)})`;
  }
}

export interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

/** Busy and total CPU time of all cores since boot, in ms (os.cpus()). */
export function cpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    busy += all - times.idle;
    total += all;
  }
  return { busy, total };
}

/** Starts watching the machine's load; `finish()` returns what it was over the run. */
export function watchLoad(): { finish(): LoadInfo } {
  const loadAverageAtStart = loadavg();
  const freeMemoryBytesAtStart = freemem();
  const start = cpuTimes();
  return {
    finish() {
      const end = cpuTimes();
      const total = end.total - start.total;
      return {
        loadAverageAtStart,
        loadAverageAtEnd: loadavg(),
        cpuBusyPercent: total > 0 ? ((end.busy - start.busy) / total) * 100 : 0,
        freeMemoryBytesAtStart,
      };
    },
  };
}
