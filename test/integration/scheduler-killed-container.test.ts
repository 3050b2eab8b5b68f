import test from 'ava';
import Dockerode from 'dockerode';
import { execa } from 'execa';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import type { RunnableContainer } from '../../lib/container.js';
import { createBackendFactory, reapBackendOrphans, resolveBackendSettings, type BackendName } from '../../harness/backend.js';
import { PoolSource, type CheckoutOptions } from '../../harness/scheduler/container-source.js';
import { runSuite } from '../../harness/scheduler/scheduler.js';
import { validateSuite } from '../../harness/scheduler/suite.js';
import { assertEngine, containersOfPool, ForwardingSource } from '../helpers/engines.js';

// A container the engine kills under a running job (OOM, `docker kill`, `lxc-stop -k`) makes the job `error`,
// an infrastructure failure, not `failed`; on both real engines.
const engine = loadEngineConfig();
const runId = randomSuffix();
const backends: BackendName[] = ['docker', 'lxc'];
const poolIds = new Map(backends.map((backend) => [backend, `it-killjob-${backend}-${runId}`]));

test.before(async () => {
  await Promise.all(backends.map((backend) => assertEngine(backend)));
});

test.after.always(async () => {
  // Only removes something if a test failed half-way; the tests assert that nothing is left.
  await Promise.allSettled(backends.map((backend) => reapBackendOrphans(resolveBackendSettings({ backend, poolId: poolIds.get(backend) ?? '' }), true)));
});

/** Hands out the pool's containers and tells the test which one the (only) job got. */
class WatchedSource extends ForwardingSource {
  #tell: (container: RunnableContainer) => void = () => undefined;
  readonly given = new Promise<RunnableContainer>((resolve) => (this.#tell = resolve));

  override async checkout(options: CheckoutOptions): Promise<RunnableContainer> {
    const container = await this.inner.checkout(options);
    this.#tell(container);
    return container;
  }
}

/** Kills a container behind the scheduler's back, as the engine's OOM killer or an operator would. */
async function killOnEngine(backend: BackendName, container: RunnableContainer): Promise<void> {
  if (backend === 'docker') {
    await new Dockerode({ socketPath: engine.dockerSocket }).getContainer(container.id).kill();
    return;
  }
  await execa('lxc-stop', ['-P', engine.lxcPath, '-n', container.name, '-k']);
}

/**
 * Waits until the job's command has really started (it writes /tmp/started first). There is no engine event for
 * that; a second exec asks, a few times a second, within a generous deadline.
 */
async function commandStarted(container: RunnableContainer): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const probe = await container.exec(['/bin/sh', '-c', 'test -f /tmp/started'], { timeoutMs: 10_000 }).catch(() => undefined);
    if (probe?.exitCode === 0) return;
    if (Date.now() > deadline) throw new Error(`the job's command never started in ${container.name}`);
    await sleep(200);
  }
}

for (const backend of backends) {
  test(`${backend}: a container killed on the engine while its job runs ends the job error, not failed, and nothing is left`, async (t) => {
    const poolId = poolIds.get(backend) ?? '';
    const source = new WatchedSource(PoolSource.start(createBackendFactory(resolveBackendSettings({ backend, poolId })), { size: 1 }));
    const outDir = await mkdtemp(join(tmpdir(), `warmpool-killjob-${backend}-`));
    const suite = validateSuite({
      name: 'killed-under-a-job',
      // Its timeout only bounds the test should the kill be missed: the job would end `timeout`, not hang.
      jobs: [{ name: 'sleeper', command: ['/bin/sh', '-c', 'touch /tmp/started; echo working; sleep 120'], timeoutMs: 60_000 }],
    });
    try {
      const running = runSuite(suite, { source, concurrency: 1, outDir, checkoutTimeoutMs: 120_000 });
      const container = await source.given;
      await commandStarted(container);
      await killOnEngine(backend, container);
      const result = await running;
      const [job] = result.jobs;
      t.is(job?.status, 'error', job?.reason);
      t.is(job?.exitCode, null);
      t.is(job?.attempts, 1);
      t.is(job?.history[0]?.container, container.name);
      // The engine's code for the kill when it reports one (Docker does: 137; LXC's agent sees its FIFOs close,
      // not the init's status), or the state it reports after.
      t.regex(job?.reason ?? '', new RegExp(`^the container died under the command: Container ${container.name} (died( \\(exit code \\d+\\))?|was removed|is not running)`));
      t.is(job?.replacedContainers, undefined, 'a container that ran the command is not a dead-at-first-use one');
      t.deepEqual(result.leftBehind, []);
    } finally {
      await source.close();
    }
    t.deepEqual(await containersOfPool(backend, poolId), [], 'the killed container and the pool\'s are removed');
  });
}
