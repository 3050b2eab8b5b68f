import { errorMessage } from '../../../lib/errors.js';
import { fail, pass, type DoctorCheck } from '../check.js';
import { dockerGet } from '../docker-get.js';

/** The Docker engine answers on the socket serve would use, and which version it is. */
export const dockerEngineCheck: DoctorCheck = {
  id: 'engine',
  async run({ docker, settings }, signal) {
    const socket = settings.dockerSocket;
    try {
      const version = await dockerGet<{ Version: string; ApiVersion: string; Os: string; Arch: string }>(docker, '/version', signal);
      return pass(`Docker ${version.Version} (API ${version.ApiVersion}, ${version.Os}/${version.Arch}) answers at ${socket}`);
    } catch (error) {
      if (signal.aborted) throw error;
      return fail(`no Docker engine answers at ${socket}: ${errorMessage(error)}`, dockerEngineFix(socket, error));
    }
  },
};

/** The fix for the usual ways a Docker socket fails, told apart by the connection error. */
function dockerEngineFix(socket: string, error: unknown): string {
  const point = `or point DOCKER_HOST (unix://…) or --docker-socket at the engine's socket`;
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `no socket at ${socket}: start the engine (systemctl start docker), ${point}`;
    case 'ECONNREFUSED':
      return `nothing listens on ${socket} (the engine stopped or crashed): start it again (systemctl restart docker), ${point}`;
    case 'EACCES':
    case 'EPERM':
      return `not allowed to use ${socket}: run as root or as a member of the socket's group (usually docker)`;
    default:
      return `check that dockerd runs and listens on ${socket} (journalctl -u docker), ${point}`;
  }
}
