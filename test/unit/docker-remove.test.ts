import test from 'ava';
import { LeftoverRemovals } from '../../lib/backends/docker/docker-leftover-removals.js';
import { forceRemove, isRemovalInProgress } from '../../lib/backends/docker/docker-remove.js';
import { openDockerContainer, reapDockerOrphans } from '../../lib/backends/docker/index.js';
import { BackendError, EngineUnavailableError } from '../../lib/errors.js';
import { FakeClock, settle } from '../../fixtures/fake-clock.js';

// A remove resolves only once the container is gone. A 409 "removal already in progress" is waited out by
// removing again: the removal it reports may still fail (dockerd stopped in the middle of one leaves the
// container `dead` after its restart, and a forced remove of a dead container works; checked on dockerd 20.10).
// Against a fake dockerode whose removes answer as a script says; the waits run on the fake clock.

const inProgress = (id: string): Error => answer(409, `removal of container ${id} is already in progress`);
const noSuchContainer = (id: string): Error => answer(404, `No such container: ${id}`);
const refused = (): Error =>
  Object.assign(new Error('connect ENOENT /x/docker.sock'), { code: 'ENOENT', errno: -2, syscall: 'connect' });

function answer(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) - ${message} `), { statusCode, json: { message } });
}

/** What one remove answers: an error to reject with, or 'removed' (HTTP 204). */
type RemoveAnswer = Error | 'removed';

/**
 * A dockerode whose removes answer from `script`, one entry per call, the last entry for every call after
 * it. `down` makes every call (ping too) fail as a missing socket does. Records the ids removes were asked for.
 */
class ScriptedDocker {
  readonly modem = {};
  readonly removes: string[] = [];
  script: RemoveAnswer[] = ['removed'];
  down = false;
  listed: unknown[] = [];

  ping(): Promise<unknown> {
    return this.down ? Promise.reject(refused()) : Promise.resolve('OK');
  }

  createContainer(): Promise<unknown> {
    return Promise.reject(new Error('no creates in this test'));
  }

  listContainers(): Promise<unknown> {
    return this.down ? Promise.reject(refused()) : Promise.resolve(this.listed);
  }

  getContainer(id: string) {
    return {
      remove: (): Promise<unknown> => {
        this.removes.push(id);
        if (this.down) return Promise.reject(refused());
        const next = this.script.length > 1 ? this.script.shift() : this.script[0];
        return next === 'removed' || next === undefined ? Promise.resolve() : Promise.reject(next);
      },
    };
  }
}

/** Tracks a promise's outcome without awaiting it, so a test can check it is still pending. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; error: unknown } = { settled: false, error: undefined };
  const done = promise.then(
    () => void (state.settled = true),
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return { state, done };
}

function containerOn(docker: ScriptedDocker, clock: FakeClock, id = 'abc') {
  return openDockerContainer({ backend: 'docker', id, name: `warmpool-${id}` }, { docker: docker as never, clock });
}

test('isRemovalInProgress: only the 409 that says so', (t) => {
  t.true(isRemovalInProgress(inProgress('abc')));
  t.false(isRemovalInProgress(answer(409, 'You cannot remove a running container abc')));
  t.false(isRemovalInProgress(noSuchContainer('abc')));
  t.false(isRemovalInProgress(answer(500, 'removal of container abc is already in progress')));
  t.false(isRemovalInProgress(undefined));
});

test('destroy(): a removal in progress is waited for; resolves once the next remove answers 404', async (t) => {
  const docker = new ScriptedDocker();
  const clock = new FakeClock();
  docker.script = [inProgress('abc'), noSuchContainer('abc')];
  const destroyed = track(containerOn(docker, clock).destroy());
  await settle();
  t.false(destroyed.state.settled, 'a 409 "in progress" is not "gone"');
  t.deepEqual(docker.removes, ['abc']);
  await clock.runFor(100);
  await destroyed.done;
  t.is(destroyed.state.error, undefined);
  t.deepEqual(docker.removes, ['abc', 'abc'], 'resolved after the second remove');
});

test('destroy(): a removal that dockerd abandoned (the container stayed, dead) is finished by the next remove', async (t) => {
  const docker = new ScriptedDocker();
  const clock = new FakeClock();
  // Another removal runs, dockerd stops in the middle of it, and after its restart the dead container is removed.
  docker.script = [inProgress('abc'), inProgress('abc'), 'removed', noSuchContainer('abc')];
  const container = containerOn(docker, clock);
  const destroyed = track(container.destroy());
  await settle();
  await clock.runFor(1_000);
  await destroyed.done;
  t.is(destroyed.state.error, undefined);
  t.is(docker.removes.length, 3);
  await container.destroy();
  t.is(docker.removes.length, 3, 'a finished destroy is not repeated');
});

test('destroy(): a removal in progress for longer than the bound rejects with BackendError, and can be called again', async (t) => {
  const docker = new ScriptedDocker();
  const clock = new FakeClock();
  docker.script = [inProgress('abc')];
  const container = containerOn(docker, clock);
  const destroyed = track(container.destroy());
  await settle();
  await clock.runFor(29_000);
  t.false(destroyed.state.settled, 'still waiting within the bound');
  const removesBefore = docker.removes.length;
  t.true(removesBefore > 2, 'the remove is repeated while it waits');
  await clock.runFor(1_500);
  await destroyed.done;
  t.true(destroyed.state.error instanceof BackendError);
  t.false(destroyed.state.error instanceof EngineUnavailableError);
  t.regex(String((destroyed.state.error as Error).message), /still being removed after 30000 ms/);
  // Once capped, the jittered delay is 0.5-1 s: at least one remove in the last 1.5 s (the cap holds), and no more
  // than one per half second (it still backs off).
  const lastRemoves = docker.removes.length - removesBefore;
  t.true(lastRemoves >= 1 && lastRemoves <= 4, `${lastRemoves} removes in the last 1.5 s`);
  t.is(clock.pendingTimers, 0, 'no timer left behind');

  docker.script = [noSuchContainer('abc')];
  await t.notThrowsAsync(container.destroy(), 'a later destroy finds it gone');
});

test('destroy(): the engine going away while it waits rejects with EngineUnavailableError; a later destroy removes the container', async (t) => {
  const docker = new ScriptedDocker();
  const clock = new FakeClock();
  docker.script = [inProgress('abc')];
  const container = containerOn(docker, clock);
  const destroyed = track(container.destroy());
  await settle();
  docker.down = true;
  await clock.runFor(200);
  await destroyed.done;
  t.true(destroyed.state.error instanceof EngineUnavailableError, String(destroyed.state.error));
  t.is(clock.pendingTimers, 0);

  // Back after the restart: the container is dead, and a forced remove takes it.
  docker.down = false;
  docker.script = ['removed'];
  await t.notThrowsAsync(container.destroy());
});

test('destroy(): a 500 from an engine that answers stays a BackendError, not waited on', async (t) => {
  const docker = new ScriptedDocker();
  docker.script = [answer(500, 'unable to remove filesystem: device or resource busy')];
  await t.throwsAsync(containerOn(docker, new FakeClock()).destroy(), { instanceOf: BackendError });
  t.is(docker.removes.length, 1);
});

test('forceRemove: the signal stops the wait with its reason, and no remove follows', async (t) => {
  const docker = new ScriptedDocker();
  const clock = new FakeClock();
  docker.script = [inProgress('abc')];
  const controller = new AbortController();
  const removal = track(forceRemove(docker as never, 'abc', { clock, signal: controller.signal }));
  await settle();
  const reason = new Error('stop');
  controller.abort(reason);
  await removal.done;
  t.is(removal.state.error, reason);
  t.is(clock.pendingTimers, 0);
  await clock.runFor(5_000);
  t.deepEqual(docker.removes, ['abc']);
  await t.throwsAsync(forceRemove(docker as never, 'abc', { clock, signal: AbortSignal.abort(reason) }), { is: reason });
  t.deepEqual(docker.removes, ['abc'], 'an aborted signal stops it before any remove');
});

test('forceRemove: first waits are short (50-100 ms), later ones at most a second', async (t) => {
  const docker = new ScriptedDocker();
  const clock = new FakeClock();
  docker.script = [inProgress('abc')];
  const removal = track(forceRemove(docker as never, 'abc', { clock, waitMs: 10_000, random: () => 0.999 }));
  await settle();
  await clock.runFor(99);
  t.is(docker.removes.length, 1, 'with the top draw of the jitter, the first wait is 100 ms');
  await clock.runFor(1);
  t.is(docker.removes.length, 2);
  await clock.runFor(10_000);
  await removal.done;
  t.true(removal.state.error instanceof BackendError);
  // Removes at 0, 0.1, 0.3, 0.7 and 1.5 s, then every second up to 9.5 s, and a last one at the 10 s deadline.
  t.is(docker.removes.length, 14);
});

test('leftover removals: a removal in progress keeps the container pending until it is gone', async (t) => {
  const docker = new ScriptedDocker();
  const clock = new FakeClock();
  docker.script = [inProgress('left')];
  const leftovers = new LeftoverRemovals(docker as never, clock);
  leftovers.add('left');
  await clock.runFor(60_000);
  t.deepEqual(leftovers.pending, ['left'], 'a 409 "in progress" is not taken for removed');
  docker.script = [noSuchContainer('left')];
  await clock.runFor(60_000);
  t.deepEqual(leftovers.pending, []);
});

test('reaper: a removal in progress is waited for, and counts as removed only once it is gone', async (t) => {
  const docker = new ScriptedDocker();
  docker.listed = [{ Id: 'orphan-id', Names: ['/warmpool-unit-remove-1'], Labels: { 'warmpool.pool': 'unit-remove' } }];
  docker.script = [inProgress('orphan-id'), noSuchContainer('orphan-id')];
  const result = await reapDockerOrphans({ docker: docker as never, poolId: 'unit-remove', force: true });
  t.deepEqual(result.removed, ['warmpool-unit-remove-1']);
  t.deepEqual(docker.removes, ['orphan-id', 'orphan-id']);

  // The engine goes away while the reaper waits: the container is reported as not removed.
  docker.script = [inProgress('orphan-id')];
  const reaping = reapDockerOrphans({ docker: docker as never, poolId: 'unit-remove', force: true });
  await settle();
  docker.down = true;
  await t.throwsAsync(reaping, { instanceOf: BackendError, message: /warmpool-unit-remove-1/ });
});
