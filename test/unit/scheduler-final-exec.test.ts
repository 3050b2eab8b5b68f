import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunnableFactory, type FakeRunnableContainer } from '../../fixtures/fake-runnable.js';
import type { ContainerDescriptor, ContainerState, ExecOptions, ExecResult, RunnableContainer } from '../../lib/container.js';
import { ContainerDiedError } from '../../lib/errors.js';
import type { CheckoutOptions, ContainerSource } from '../../harness/scheduler/container-source.js';
import { runSuite, type SuiteResult } from '../../harness/scheduler/scheduler.js';
import { validateSuite } from '../../harness/scheduler/suite.js';

// A container with `execFinal` (Docker's agent) runs the job's command through it. The container stops by design
// afterwards, so the runner must not take a high exit code plus a stopped container for a death, and a death the
// final path reports (ContainerDiedError) ends the job `error`.

type Final = (argv: readonly string[]) => Promise<ExecResult>;

/** A fake container with a scripted `execFinal`, and a record of which path ran and whether state() was asked. */
class FinalContainer implements RunnableContainer {
  readonly calls: string[] = [];
  readonly execFinal: (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

  constructor(
    readonly inner: FakeRunnableContainer,
    final: Final,
  ) {
    this.execFinal = (argv) => {
      this.calls.push('execFinal');
      return final(argv);
    };
  }

  get id(): string {
    return this.inner.id;
  }
  get name(): string {
    return this.inner.name;
  }
  get backend(): 'docker' {
    return 'docker';
  }
  describe(): ContainerDescriptor {
    return this.inner.describe();
  }
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    this.calls.push('exec');
    return this.inner.exec(argv, options);
  }
  writeFile(path: string, data: string | Uint8Array): Promise<void> {
    return this.inner.writeFile(path, data);
  }
  readFile(path: string): Promise<Buffer> {
    return this.inner.readFile(path);
  }
  state(): Promise<ContainerState> {
    this.calls.push('state');
    // After a final command the container has stopped: what the engine would say.
    return Promise.resolve('stopped');
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

class FinalSource implements ContainerSource {
  readonly capacity = 1;
  readonly handedOut: FinalContainer[] = [];
  readonly #factory = new FakeRunnableFactory();
  readonly #final: Final;

  constructor(final: Final) {
    this.#final = final;
  }

  async checkout({ signal }: CheckoutOptions): Promise<RunnableContainer> {
    const container = new FinalContainer(await this.#factory.createContainer({ signal: signal ?? new AbortController().signal }), this.#final);
    this.handedOut.push(container);
    return container;
  }

  ready(): number {
    return 1;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function runOne(source: FinalSource, command: string[] = ['anything']): Promise<SuiteResult> {
  const outDir = await mkdtemp(join(tmpdir(), 'warmpool-final-'));
  try {
    return await runSuite(validateSuite({ name: 'final', jobs: [{ name: 'job', command, files: { '/in': 'x' } }] }), {
      source,
      concurrency: 1,
      outDir,
      checkoutTimeoutMs: 5_000,
      livenessSettleMs: 20,
    });
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

test('the job command goes through execFinal, and its output and exit code are the result', async (t) => {
  const source = new FinalSource(() => Promise.resolve({ exitCode: 0, stdout: 'ran\n', stderr: '', timedOut: false }));
  const result = await runOne(source);
  const [job] = result.jobs;
  t.is(job?.status, 'passed');
  t.is(job?.output?.stdout, 'ran\n');
  t.deepEqual(source.handedOut[0]?.calls, ['execFinal']);
});

test('exit 137 through execFinal is the command failing, not a death: the stopped container is not asked about', async (t) => {
  const source = new FinalSource(() => Promise.resolve({ exitCode: 137, stdout: '', stderr: 'Killed\n', timedOut: false }));
  const result = await runOne(source);
  const [job] = result.jobs;
  t.is(job?.status, 'failed');
  t.is(job?.exitCode, 137);
  t.deepEqual(source.handedOut[0]?.calls, ['execFinal'], 'no state() call');
});

test('ContainerDiedError from execFinal ends the job error, as an infrastructure failure, without a replacement', async (t) => {
  const source = new FinalSource(() => Promise.reject(new ContainerDiedError('c1', 'died', 137, false)));
  const result = await runOne(source);
  const [job] = result.jobs;
  t.is(job?.status, 'error');
  t.regex(job?.reason ?? '', /died under the command/);
  t.is(source.handedOut.length, 1, 'the command had started: the attempt ends, no container is swapped in');
  t.is(job?.replacedContainers, undefined);
});
