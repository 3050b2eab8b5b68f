import { execa } from 'execa';
import type { EngineContainer, EngineView } from './engine-view.js';

/** One way to end a container behind its pool's back, as an operator, the OOM killer or a crash would. */
export interface KillMethod {
  readonly name: string;
  kill(view: EngineView, container: EngineContainer): Promise<void>;
}

const lxcEnv = { LC_ALL: 'C' };

async function lxc(command: string, args: readonly string[]): Promise<void> {
  await execa(command, args, { env: lxcEnv, stdin: 'ignore' });
}

const dockerMethods: readonly KillMethod[] = [
  { name: 'docker kill', kill: (view, container) => view.docker.getContainer(container.id).kill() as Promise<void> },
  { name: 'docker rm -f', kill: (view, container) => view.docker.getContainer(container.id).remove({ force: true }) as Promise<void> },
];

const lxcMethods: readonly KillMethod[] = [
  { name: 'lxc-stop -k', kill: (view, container) => lxc('lxc-stop', ['-P', view.settings.lxcPath, '-n', container.name, '-k']) },
  { name: 'lxc-destroy -f', kill: (view, container) => lxc('lxc-destroy', ['-P', view.settings.lxcPath, '-n', container.name, '-f']) },
  {
    name: 'kill -9 of init',
    async kill(view, container) {
      const { stdout } = await execa('lxc-info', ['-P', view.settings.lxcPath, '-n', container.name, '-p', '-H'], { env: lxcEnv });
      const pid = Number(stdout.trim());
      if (!Number.isInteger(pid) || pid <= 1) throw new Error(`lxc-info gave no init pid for ${container.name}: ${JSON.stringify(stdout)}`);
      process.kill(pid, 'SIGKILL');
    },
  },
];

/** The kill methods of a backend, used in turn so each is injected. */
export function killMethodsOf(view: EngineView): readonly KillMethod[] {
  return view.settings.backend === 'docker' ? dockerMethods : lxcMethods;
}

/** Stops a container the way a host reboot or an engine restart would: Docker kill, `lxc-stop -k`. */
export function hardStopOf(view: EngineView): KillMethod {
  return (view.settings.backend === 'docker' ? dockerMethods[0] : lxcMethods[0]) as KillMethod;
}
