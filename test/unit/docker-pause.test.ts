import test from 'ava';
import type Dockerode from 'dockerode';
import { setDockerPaused } from '../../lib/backends/docker/docker-pause.js';
import { BackendError, EngineUnavailableError } from '../../lib/errors.js';

// setDockerPaused against the engine's answers, as dockerode reports them. The real engine is in
// test/integration/pause.test.ts; this covers the answers the engine there (dockerd 20.10) does not give: later
// engines say "is not paused" with a 409 instead of a 500.

const answer = (statusCode: number, message: string): Error =>
  Object.assign(new Error(`(HTTP code ${statusCode}) - ${message} `), { statusCode, json: { message } });
const refused = (): Error =>
  Object.assign(new Error('connect ENOENT /x/docker.sock'), { code: 'ENOENT', errno: -2, syscall: 'connect' });

/** A dockerode whose pause and unpause answer `outcome`; `pingable` says whether the engine answers a ping. */
function engine(outcome: () => Promise<void>, pingable = true): Dockerode {
  const fake = {
    modem: {},
    getContainer: () => ({ pause: outcome, unpause: outcome }),
    ping: () => (pingable ? Promise.resolve('OK') : Promise.reject(refused())),
  };
  return fake as unknown as Dockerode;
}

const id = 'c0ffee';

test('pausing a paused container and resuming one that is not paused succeed, whichever status the engine uses', async (t) => {
  const answering = (statusCode: number, message: string): Dockerode =>
    engine(() => Promise.reject(answer(statusCode, message)));
  await t.notThrowsAsync(setDockerPaused(answering(409, `Container ${id} is already paused`), id, 'c', true));
  await t.notThrowsAsync(setDockerPaused(answering(500, `Container ${id} is not paused`), id, 'c', false), 'dockerd 20.10');
  await t.notThrowsAsync(setDockerPaused(answering(409, `container ${id} is not paused`), id, 'c', false), 'later engines');
});

test('the answer that means done in one direction is a failure in the other', async (t) => {
  const notPaused = engine(() => Promise.reject(answer(409, `Container ${id} is not paused`)));
  await t.throwsAsync(setDockerPaused(notPaused, id, 'c', true), { instanceOf: BackendError });
  const alreadyPaused = engine(() => Promise.reject(answer(409, `Container ${id} is already paused`)));
  await t.throwsAsync(setDockerPaused(alreadyPaused, id, 'c', false), { instanceOf: BackendError });
});

test('a stopped or gone container is a BackendError naming it; an engine that is not there, EngineUnavailableError', async (t) => {
  const stopped = engine(() => Promise.reject(answer(409, `Container ${id} is not running`)));
  await t.throwsAsync(setDockerPaused(stopped, id, 'warmpool-x', true), {
    instanceOf: BackendError,
    message: /Pausing container warmpool-x failed: .*is not running/,
  });
  const gone = engine(() => Promise.reject(answer(404, `No such container: ${id}`)));
  await t.throwsAsync(setDockerPaused(gone, id, 'warmpool-x', false), {
    instanceOf: BackendError,
    message: /Resuming container warmpool-x failed/,
  });
  const away = engine(() => Promise.reject(refused()));
  await t.throwsAsync(setDockerPaused(away, id, 'c', true), { instanceOf: EngineUnavailableError });
  const oddAnswer = (): Promise<void> => Promise.reject(answer(500, 'something odd'));
  const hung = engine(oddAnswer, false);
  await t.throwsAsync(setDockerPaused(hung, id, 'c', true), { instanceOf: EngineUnavailableError }, 'no ping either');
  const answers = engine(oddAnswer, true);
  await t.throwsAsync(setDockerPaused(answers, id, 'c', true), { instanceOf: BackendError }, 'it answers pings');
});
