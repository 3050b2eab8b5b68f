import test from 'ava';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { LxcFactory, reapLxcOrphans } from '../../lib/backends/lxc/index.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { lxcRunOnce } from '../../harness/bench/real-suite-lxc-run.js';
import { assertEngine } from '../helpers/engines.js';

// The container-per-job baseline of the bench's real-suite part on LXC, on the busybox base: it must report
// what the command did and leave no clone behind, also when stopped half-way.
const { lxcPath, lxcBase } = loadEngineConfig();
const poolId = `it-rs-lxc-${randomSuffix()}`;
const factory = new LxcFactory({ lxcpath: lxcPath, base: lxcBase, poolId });

test.before(() => assertEngine('lxc'));

test.after.always(async () => {
  await reapLxcOrphans({ lxcpath: lxcPath, poolId, force: true });
});

/** This test's clones, stopped ones included. */
async function clonesLeft(which: 'all' | 'running' = 'all'): Promise<string[]> {
  const { stdout } = await execa('lxc-ls', ['-P', lxcPath, '-1', ...(which === 'running' ? ['--running'] : [])]);
  return stdout.split('\n').filter((name) => name.startsWith(`warmpool-${poolId}-`));
}

test.serial('a clone per job: exit code, stdout and stderr apart, env given, and the clone is destroyed', async (t) => {
  const run = await lxcRunOnce(factory, { command: ['/bin/sh', '-c', 'echo "out $GREETING"; echo err >&2; exit 3'], env: { GREETING: 'hi' } });
  t.like(run, { exitCode: 3, stdout: 'out hi\n', stderr: 'err\n', timedOut: false });
  t.true(run.totalMs >= run.runMs);
  t.deepEqual(await clonesLeft(), []);
});

test.serial('a clone per job past its timeout: killed, reported timed out, and destroyed', async (t) => {
  const run = await lxcRunOnce(factory, { command: ['/bin/sh', '-c', 'echo started; sleep 60'], timeoutMs: 1_000 });
  t.like(run, { exitCode: null, timedOut: true, stdout: 'started\n' });
  t.deepEqual(await clonesLeft(), []);
});

test.serial('aborting a clone per job destroys the clone and rejects with the reason', async (t) => {
  const controller = new AbortController();
  const running = lxcRunOnce(factory, { command: ['sleep', '60'], signal: controller.signal });
  for (let tries = 0; (await clonesLeft('running')).length === 0; tries++) {
    if (tries > 600) throw new Error('the clone never ran');
    await sleep(50);
  }
  controller.abort(new Error('stop the clone'));
  await t.throwsAsync(running, { message: 'stop the clone' });
  t.deepEqual(await clonesLeft(), []);
});
