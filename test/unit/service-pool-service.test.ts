import test from 'ava';
import { spawnSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { failingFactory, instantFactory, manualFactory, type FakeFactory } from '../../fixtures/fake-factory.js';
import { RawClient, eventually } from '../../fixtures/service/raw-client.js';
import { disposeInProcessServices, startInProcessService, type InProcessService } from '../../fixtures/service/in-process-service.js';
import { ServiceRunningError, serviceErrorCodes } from '../../harness/service/service-errors.js';
import { PoolService } from '../../harness/service/pool-service.js';
import { Pool } from '../../lib/pool.js';
import { createLogger } from '../../lib/logger.js';
import type { FakeContainer } from '../../fixtures/fake-factory.js';
import type { ServiceResponse } from '../../harness/service/protocol.js';
import { assertNothingLost } from '../helpers/ledger.js';

test.after.always(disposeInProcessServices);

function containerOf(response: ServiceResponse): string | undefined {
  if (!response.ok) return undefined;
  const container = (response as { container?: { id: string } | null }).container;
  return container?.id;
}

function codeOf(response: ServiceResponse): string | undefined {
  return response.ok ? undefined : response.error.code;
}

async function withService(
  factory: FakeFactory,
  poolOptions: Parameters<typeof startInProcessService>[1],
  body: (running: InProcessService) => Promise<void>,
): Promise<void> {
  const running = await startInProcessService(factory, poolOptions);
  try {
    await body(running);
  } finally {
    await running.dispose();
  }
}

test('the socket is created with mode 0600 and answers status', async (t) => {
  await withService(instantFactory(), { size: 2 }, async ({ socketPath, pool }) => {
    t.is((await stat(socketPath)).mode & 0o777, 0o600);
    await eventually(() => pool.size === 2);
    const client = await RawClient.connect(socketPath);
    client.send({ id: 1, type: 'status' });
    const response = await client.response(1);
    t.true(response.ok);
    t.like(response, { status: { backend: 'docker', poolId: 'unit', ready: 2, capacity: 2, held: 0, waiting: 0, connections: 1 } });
    client.destroy();
  });
});

test('when demand exceeds supply, containers go round-robin across connections, each in its own order', async (t) => {
  const factory = manualFactory();
  await withService(factory, { size: 1, maxWorkers: 1 }, async ({ socketPath, service }) => {
    const a = await RawClient.connect(socketPath);
    const b = await RawClient.connect(socketPath);
    // a asks three times before b asks once: b must not wait behind all of a's gets.
    for (const id of ['a1', 'a2', 'a3']) a.send({ id, type: 'get', timeoutMs: null });
    await eventually(() => service.status().waiting === 3);
    b.send({ id: 'b1', type: 'get', timeoutMs: null });
    await eventually(() => service.status().waiting === 4);
    const served: string[] = [];
    for (let n = 0; n < 4; n++) {
      await eventually(() => factory.pending.length === 1, 5000, `creation ${n}`);
      factory.pending[0]?.resolve();
      await eventually(() => service.status().waiting === 3 - n);
    }
    for (const [client, id] of [[a, 'a1'], [a, 'a2'], [a, 'a3'], [b, 'b1']] as const) {
      const container = containerOf(await client.response(id));
      t.truthy(container);
      served[Number(container?.replace('fake-', ''))] = id;
    }
    t.deepEqual(served, ['a1', 'b1', 'a2', 'a3']);
    a.destroy();
    b.destroy();
  });
  assertNothingLost(t, factory);
});

test('a client that disconnects while waiting leaves no waiter, and the container goes to the pool', async (t) => {
  const factory = manualFactory();
  await withService(factory, { size: 1, maxWorkers: 1 }, async ({ socketPath, pool, service }) => {
    const a = await RawClient.connect(socketPath);
    a.send({ id: 1, type: 'get', timeoutMs: null });
    await eventually(() => pool.waiting === 1);
    a.destroy();
    await eventually(() => pool.waiting === 0 && service.status().connections === 0);
    factory.pending[0]?.resolve();
    await eventually(() => pool.size === 1);
    t.is(service.status().held, 0);
  });
  assertNothingLost(t, factory);
});

test('a client that disconnects holding a container has it destroyed; the ledger balances', async (t) => {
  const factory = instantFactory();
  await withService(factory, { size: 2 }, async ({ socketPath, pool, service }) => {
    await eventually(() => pool.size === 2);
    const a = await RawClient.connect(socketPath);
    a.send({ id: 1, type: 'get' });
    a.send({ id: 2, type: 'get' });
    const taken = [containerOf(await a.response(1)), containerOf(await a.response(2))];
    t.is(new Set(taken).size, 2);
    t.is(service.status().held, 2);
    a.destroy();
    await eventually(() => taken.every((id) => factory.ledger.destroyed.has(id ?? '')));
    t.is(service.status().held, 0);
  });
  assertNothingLost(t, factory);
});

test('a container delivered as its client hangs up is destroyed, never lost', async (t) => {
  const factory = manualFactory();
  await withService(factory, { size: 1, maxWorkers: 1 }, async ({ socketPath, service }) => {
    const a = await RawClient.connect(socketPath);
    a.send({ id: 1, type: 'get', timeoutMs: null });
    await eventually(() => service.status().waiting === 1);
    // The container is handed over in the same tick the client goes: whichever the service sees first, the
    // container must end up destroyed (held by a gone connection) or back in the pool, not leaked.
    factory.pending[0]?.resolve();
    a.destroy();
    await eventually(() => service.status().connections === 0 && service.status().held === 0);
  });
  assertNothingLost(t, factory);
});

test('keep: a kept container survives its connection and any connection may release it', async (t) => {
  const factory = instantFactory();
  await withService(factory, { size: 2 }, async ({ socketPath, pool, service }) => {
    await eventually(() => pool.size === 2);
    const a = await RawClient.connect(socketPath);
    a.send({ id: 1, type: 'get', keep: true });
    const kept = containerOf(await a.response(1));
    t.truthy(kept);
    a.destroy();
    await eventually(() => service.status().connections === 0);
    t.false(factory.ledger.destroyed.has(kept ?? ''));
    t.like(service.status(), { held: 1, kept: 1 });

    const b = await RawClient.connect(socketPath);
    b.send({ id: 1, type: 'release', container: `${kept}` });
    t.like(await b.response(1), { ok: true });
    t.true(factory.ledger.destroyed.has(kept ?? ''));
    t.like(service.status(), { held: 0, kept: 0 });
    b.destroy();
  });
  assertNothingLost(t, factory);
});

test('keep: shutdown leaves kept containers and destroys the others', async (t) => {
  const factory = instantFactory();
  const running = await startInProcessService(factory, { size: 2 });
  await eventually(() => running.pool.size === 2);
  const a = await RawClient.connect(running.socketPath);
  a.send({ id: 1, type: 'get', keep: true });
  a.send({ id: 2, type: 'get' });
  const kept = containerOf(await a.response(1));
  const plain = containerOf(await a.response(2));
  const report = await running.service.shutdown();
  t.like(report, { destroyed: 1, kept: 1, clean: true });
  t.true(factory.ledger.destroyed.has(plain ?? ''));
  t.false(factory.ledger.destroyed.has(kept ?? ''));
  const keptContainer = factory.ledger.created.find((container) => container.id === kept);
  assertNothingLost(t, factory, keptContainer ? [keptContainer] : []);
  await a.closed;
  await running.dispose();
});

test('release: only the holder may release a container that is not kept', async (t) => {
  const factory = instantFactory();
  await withService(factory, { size: 2 }, async ({ socketPath, pool }) => {
    await eventually(() => pool.size === 2);
    const a = await RawClient.connect(socketPath);
    const b = await RawClient.connect(socketPath);
    a.send({ id: 1, type: 'get' });
    const mine = containerOf(await a.response(1)) ?? '';
    b.send({ id: 1, type: 'release', container: mine });
    t.is(codeOf(await b.response(1)), serviceErrorCodes.notHeld);
    a.send({ id: 2, type: 'release', container: 'no-such-container' });
    t.is(codeOf(await a.response(2)), serviceErrorCodes.notHeld);
    t.false(factory.ledger.destroyed.has(mine));
    a.send({ id: 3, type: 'release', container: mine });
    t.like(await a.response(3), { ok: true });
    t.true(factory.ledger.destroyed.has(mine));
    a.send({ id: 4, type: 'release', container: mine });
    t.is(codeOf(await a.response(4)), serviceErrorCodes.notHeld);
    a.destroy();
    b.destroy();
  });
  assertNothingLost(t, factory);
});

test('bad input gets an error response and the connection keeps working', async (t) => {
  await withService(instantFactory(), { size: 1 }, async ({ socketPath, pool }) => {
    await eventually(() => pool.size === 1);
    const a = await RawClient.connect(socketPath);
    a.send('this is not json\n');
    t.is(codeOf(await a.response(null)), serviceErrorCodes.badRequest);
    a.send('{"id":1}\n');
    t.is(codeOf(await a.response(1)), serviceErrorCodes.badRequest);
    a.send('{"id":2,"type":"self-destruct"}\n');
    t.is(codeOf(await a.response(2)), serviceErrorCodes.unknownRequest);
    a.send('{"id":3,"type":"get","timeoutMs":"soon"}\n');
    t.is(codeOf(await a.response(3)), serviceErrorCodes.badRequest);
    a.send(Buffer.from([0xc3, 0x28, 0x0a]).toString('latin1'));
    t.is(codeOf(await a.response(null)), serviceErrorCodes.badRequest);
    a.send('\n\r\n');
    a.send({ id: 4, type: 'get' });
    t.truthy(containerOf(await a.response(4)));
    a.destroy();
  });
});

test('a duplicate id of a running request is refused; the first request carries on', async (t) => {
  const factory = manualFactory();
  await withService(factory, { size: 1, maxWorkers: 1 }, async ({ socketPath, pool }) => {
    const a = await RawClient.connect(socketPath);
    a.send({ id: 'x', type: 'get', timeoutMs: null });
    await eventually(() => pool.waiting === 1);
    a.send({ id: 'x', type: 'status' });
    t.is(codeOf(await a.response('x')), serviceErrorCodes.badRequest);
    factory.pending[0]?.resolve();
    t.truthy(containerOf(await a.response('x')));
    a.destroy();
  });
  assertNothingLost(t, factory);
});

test('an oversized line gets an error and a closed connection; the next client is served', async (t) => {
  const factory = instantFactory();
  await withService(factory, { size: 1 }, async ({ socketPath, pool, service }) => {
    await eventually(() => pool.size === 1);
    const a = await RawClient.connect(socketPath);
    a.send({ id: 1, type: 'get' });
    const held = containerOf(await a.response(1));
    a.send(`{"id":2,"type":"status","pad":"${'x'.repeat(70 * 1024)}`);
    t.is(codeOf(await a.response(null)), serviceErrorCodes.lineTooLong);
    await a.closed;
    // Its container went with it.
    await eventually(() => factory.ledger.destroyed.has(held ?? ''));
    await eventually(() => service.status().connections === 0);

    const b = await RawClient.connect(socketPath);
    b.send({ id: 1, type: 'get', timeoutMs: 5000 });
    t.truthy(containerOf(await b.response(1)));
    b.destroy();
  });
  assertNothingLost(t, factory);
});

test('a half-written line at the end of the stream gets an error naming its request when it can', async (t) => {
  await withService(instantFactory(), { size: 1 }, async ({ socketPath }) => {
    const a = await RawClient.connect(socketPath);
    a.send('{"id":9,"type":"status"}');
    a.end();
    t.is(codeOf(await a.response(9)), serviceErrorCodes.incompleteLine);
    await a.closed;

    const b = await RawClient.connect(socketPath);
    b.send('{"id":9,"type":"sta');
    b.end();
    t.is(codeOf(await b.response(null)), serviceErrorCodes.incompleteLine);
    await b.closed;
  });
});

test('a client that half-closes gets its answers, its waiting gets are withdrawn, its containers destroyed', async (t) => {
  const factory = manualFactory();
  await withService(factory, { size: 1, maxWorkers: 1 }, async ({ socketPath, pool }) => {
    const a = await RawClient.connect(socketPath);
    a.send({ id: 1, type: 'get', timeoutMs: null });
    await eventually(() => pool.waiting === 1);
    factory.pending[0]?.resolve();
    const container = containerOf(await a.response(1));
    t.truthy(container);
    a.send({ id: 2, type: 'get', timeoutMs: null });
    a.send({ id: 3, type: 'status' });
    await eventually(() => pool.waiting === 1);
    a.end();
    t.is(codeOf(await a.response(2)), serviceErrorCodes.cancelled);
    t.like(await a.response(3), { ok: true });
    await a.closed;
    t.is(pool.waiting, 0);
    await eventually(() => factory.ledger.destroyed.has(container ?? ''));
  });
  assertNothingLost(t, factory);
});

test('cancel withdraws a waiting get', async (t) => {
  const factory = manualFactory();
  await withService(factory, { size: 1, maxWorkers: 1 }, async ({ socketPath, pool }) => {
    const a = await RawClient.connect(socketPath);
    a.send({ id: 1, type: 'get', timeoutMs: null });
    await eventually(() => pool.waiting === 1);
    a.send({ id: 2, type: 'cancel', target: 1 });
    t.is(codeOf(await a.response(1)), serviceErrorCodes.cancelled);
    t.like(await a.response(2), { ok: true, cancelled: true });
    t.is(pool.waiting, 0);
    a.send({ id: 3, type: 'cancel', target: 1 });
    t.like(await a.response(3), { ok: true, cancelled: false });
    a.destroy();
  });
  assertNothingLost(t, factory);
});

test('get with a timeout answers null when nothing comes', async (t) => {
  const factory = manualFactory();
  await withService(factory, { size: 1, maxWorkers: 1 }, async ({ socketPath, pool }) => {
    const a = await RawClient.connect(socketPath);
    a.send({ id: 1, type: 'get', timeoutMs: 30 });
    t.like(await a.response(1), { ok: true, container: null });
    a.send({ id: 2, type: 'get' });
    t.like(await a.response(2), { ok: true, container: null });
    t.is(pool.waiting, 0);
    a.destroy();
  });
});

test('errors drains the failures the pool queued, once', async (t) => {
  await withService(failingFactory(new Error('engine on fire')), { size: 1, maxWorkers: 1, maxErrorsPerHour: 3 }, async ({ socketPath, service }) => {
    await eventually(() => service.status().throttled);
    t.is(service.status().errors, 3);
    const a = await RawClient.connect(socketPath);
    a.send({ id: 1, type: 'errors' });
    const response = await a.response(1);
    const errors = (response as { errors?: { code: string; message: string; at: number }[] }).errors ?? [];
    t.is(errors.length, 3);
    t.is(errors[0]?.code, 'ERR_WARMPOOL_CREATION_FAILED');
    t.regex(errors[0]?.message ?? '', /engine on fire/);
    t.true(Math.abs((errors[0]?.at ?? 0) - Date.now()) < 60_000);
    a.send({ id: 2, type: 'errors' });
    t.like(await a.response(2), { ok: true, errors: [] });
    t.is(service.status().errors, 0);
    a.destroy();
  });
});

test('shutdown: waiters are refused, held containers destroyed, the socket removed, connections closed', async (t) => {
  const factory = manualFactory();
  const running = await startInProcessService(factory, { size: 1, maxWorkers: 1 });
  const a = await RawClient.connect(running.socketPath);
  a.send({ id: 1, type: 'get', timeoutMs: null });
  await eventually(() => running.pool.waiting === 1);
  factory.pending[0]?.resolve();
  const held = containerOf(await a.response(1));
  a.send({ id: 2, type: 'get', timeoutMs: null });
  await eventually(() => running.pool.waiting === 1);

  const b = await RawClient.connect(running.socketPath);
  b.send({ id: 1, type: 'shutdown' });
  t.is(codeOf(await a.response(2)), 'ERR_WARMPOOL_POOL_CLOSED');
  t.like(await b.response(1), { ok: true, destroyed: 1, kept: 0 });
  t.true(factory.ledger.destroyed.has(held ?? ''));
  t.false(existsSync(running.socketPath));
  await Promise.all([a.closed, b.closed]);
  t.like(await running.service.closed, { destroyed: 1, kept: 0, clean: true });
  await t.throwsAsync(RawClient.connect(running.socketPath));
  assertNothingLost(t, factory);
  await running.dispose();
});

test('requests after shutdown began are refused', async (t) => {
  const factory = manualFactory({ ignoreAbort: true });
  const running = await startInProcessService(factory, { size: 1, maxWorkers: 1 }, { shutdownTimeoutMs: 200 });
  const a = await RawClient.connect(running.socketPath);
  const closing = running.service.shutdown();
  a.send({ id: 1, type: 'status' });
  t.is(codeOf(await a.response(1)), serviceErrorCodes.shuttingDown);
  // The creation ignores the abort, so cleanup gives up waiting for it: not clean, but done.
  t.like(await closing, { clean: false });
  factory.pending[0]?.resolve();
  await running.dispose();
});

test('a second service on the same socket is refused while the first lives, and replaces its stale socket after', async (t) => {
  const first = await startInProcessService(instantFactory(), { size: 1 });
  const second = new PoolService<FakeContainer>({
    pool: new Pool(instantFactory(), { size: 1, logger: createLogger({ level: 'silent' }) }),
    backend: 'docker',
    poolId: 'unit',
    socketPath: first.socketPath,
    describe: (container) => ({ backend: 'docker', id: container.id, name: container.name }),
    logger: createLogger({ level: 'silent' }),
  });
  await t.throwsAsync(second.listen(), { instanceOf: ServiceRunningError });
  // The probe's connection does not linger.
  await eventually(() => first.service.status().connections === 0);

  // A crash leaves the socket file: simulate it with a listener that dies without cleaning up.
  await first.service.shutdown();
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(first.socketPath)}); process.kill(process.pid, 'SIGKILL')`]);
  t.true(existsSync(first.socketPath));
  await second.listen();
  const client = await RawClient.connect(first.socketPath);
  client.send({ id: 1, type: 'status' });
  t.like(await client.response(1), { ok: true });
  t.is((await stat(first.socketPath)).mode & 0o777, 0o600);
  client.destroy();
  await second.shutdown();
  await first.dispose();
});
