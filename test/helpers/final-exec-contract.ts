import type { TestFn } from 'ava';
import type { ExecResult, RunnableContainer } from '../../lib/container.js';
import { BackendError } from '../../lib/index.js';

/** Runs `argv` through the container's agent; a container without one fails the test. */
function runFinal(container: RunnableContainer, argv: readonly string[], options: { cwd?: string } = {}): Promise<ExecResult> {
  if (container.execFinal === undefined) throw new Error(`${container.name} has no agent`);
  return container.execFinal(argv, options);
}

/**
 * The parts of `execFinal`'s contract that read the same on every backend with an agent (Docker's main
 * process, LXC's FIFO shell), registered in each backend's test file with its own way to make a container.
 */
export function registerFinalExecContract(test: TestFn, backend: string, fresh: () => Promise<RunnableContainer>): void {
  test(`${backend}: a missing command exits 127 and a missing cwd is a BackendError naming it`, async (t) => {
    const [first, second] = await Promise.all([fresh(), fresh()]);
    try {
      t.is((await runFinal(first, ['/no/such/command'])).exitCode, 127);
      const error = await t.throwsAsync(runFinal(second, ['true'], { cwd: '/no/such/dir' }), { instanceOf: BackendError });
      t.regex(error?.message ?? '', /\/no\/such\/dir/);
    } finally {
      await Promise.all([first.destroy(), second.destroy()]);
    }
  });

  test(`${backend}: the command has its own session: kill 0 does not take the agent down`, async (t) => {
    const container = await fresh();
    try {
      const result = await runFinal(container, ['sh', '-c', 'kill 0; echo not reached']);
      t.is(result.exitCode, 143, 'SIGTERM: 128 + 15, as a shell reports it');
      t.is(result.stdout, '');
    } finally {
      await container.destroy();
    }
  });
}
