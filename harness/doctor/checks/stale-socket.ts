import { InvalidOptionError } from '../../../lib/errors.js';
import { probeSocket } from '../../service/socket-file.js';
import { fail, pass, type DoctorCheck } from '../check.js';

/** The service's socket: nothing there, a live service, or a socket a crashed service left (nobody listens). */
export const staleSocketCheck: DoctorCheck = {
  id: 'socket',
  async run({ socketPath, settings }) {
    let state;
    try {
      state = await probeSocket(socketPath);
    } catch (error) {
      if (!(error instanceof InvalidOptionError)) throw error;
      return fail(`something other than a socket is at ${socketPath}; serve will not replace it`, `move it away, or use --socket elsewhere`);
    }
    if (state === 'missing') return pass(`no socket at ${socketPath}: no service runs there, and none left one behind`);
    if (state === 'live') return pass(`a service listens on ${socketPath}`);
    return fail(
      `${socketPath} is a stale socket: nobody listens on it (its service crashed or was killed), so clients get "connection refused"`,
      `start the service (warmpool serve --backend ${settings.backend} --pool-id ${settings.poolId} --socket ${socketPath}, or systemctl start warmpool-serve@${settings.poolId}): it replaces the file; or remove it (rm ${socketPath})`,
    );
  },
};
