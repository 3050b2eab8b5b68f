import { engineStatusCode } from '../../../lib/backends/docker/docker-engine.js';
import { fail, formatBytes, pass, type DoctorCheck } from '../check.js';
import { dockerGet } from '../docker-get.js';

/**
 * The image serve's containers run is on the engine. Only looked at, never pulled: the doctor says what is
 * there; serve would try a pull at its first creation, which a host without a registry cannot do.
 */
export const dockerImageCheck: DoctorCheck = {
  id: 'image',
  needs: ['engine'],
  async run({ docker, settings }, signal) {
    const image = settings.dockerImage;
    try {
      const info = await dockerGet<{ Id: string; Size: number }>(docker, `/images/${image}/json`, signal, { 404: 'no such image' });
      return pass(`image ${image} is on the engine (${info.Id.slice(0, 19)}, ${formatBytes(info.Size)})`);
    } catch (error) {
      if (signal.aborted || engineStatusCode(error) !== 404) throw error;
      return fail(
        `image ${image} is not on the engine (serve would try to pull it at its first creation)`,
        `docker pull ${image} (or docker load / docker build it), or name an image that is there with --docker-image or WARMPOOL_DOCKER_IMAGE`,
      );
    }
  },
};
