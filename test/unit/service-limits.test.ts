import test from 'ava';
import { createConnection } from 'node:net';
import { FakeClock } from '../../fixtures/fake-clock.js';
import { instantFactory, manualFactory } from '../../fixtures/fake-factory.js';
import { disposeInProcessServices, startInProcessService, type InProcessService } from '../../fixtures/service/in-process-service.js';
import { RawClient, eventually } from '../../fixtures/service/raw-client.js';
import type { ServiceResponse } from '../../harness/service/protocol.js';
import { serviceErrorCodes } from '../../harness/service/service-errors.js';
import { assertNothingLost } from '../helpers/ledger.js';

test.after.always(disposeInProcessServices);

function codeOf(response: ServiceResponse): string | undefined {
  return response.ok ? undefined : response.error.code;
}

/** Every refusal the service counted, by code (what its metrics and rate-limited log see). */
function countRefusals(running: InProcessService): Map<string, number> {
  const counts = new Map<string, number>();
  running.service.on('refusal', ({ code }) => counts.set(code, (counts.get(code) ?? 0) + 1));
  return counts;
}

test('a connection beyond --max-connections gets ERR_WARMPOOL_TOO_MANY_CONNECTIONS and is closed; room again once one goes', async (t) => {
  const running = await startInProcessService(instantFactory(), { size: 1 }, { limits: { maxConnections: 2 } });
  const refusals = countRefusals(running);
  const a = await RawClient.connect(running.socketPath);
  const b = await RawClient.connect(running.socketPath);
  await eventually(() => running.service.status().connections === 2);
  const extra = await RawClient.connect(running.socketPath);
  // It sends a request at once, as clients do: the refusal must still reach it.
  extra.send({ id: 1, type: 'status' });
  const refusal = await extra.response(null);
  t.is(codeOf(refusal), serviceErrorCodes.tooManyConnections);
  await extra.closed;
  t.is(refusals.get(serviceErrorCodes.tooManyConnections), 1);
  t.like(running.service.status(), { connections: 2, maxConnections: 2 });

  a.destroy();
  await eventually(() => running.service.status().connections === 1);
  const c = await RawClient.connect(running.socketPath);
  c.send({ id: 1, type: 'status' });
  t.like(await c.response(1), { ok: true });
  b.destroy();
  c.destroy();
  await running.dispose();
});

test('the open-file budget lowers the connection limit, and connections beyond it are answered', async (t) => {
  const fdBudget = { limit: 128, inUse: 40, reserve: 80, sockets: 8, connections: 3 };
  const running = await startInProcessService(instantFactory(), { size: 1 }, { fdBudget });
  t.is(running.service.status().maxConnections, 3);
  const held = await Promise.all([1, 2, 3].map(() => RawClient.connect(running.socketPath)));
  await eventually(() => running.service.status().connections === 3);
  const refused = await Promise.all([1, 2].map(() => RawClient.connect(running.socketPath)));
  for (const client of refused) {
    const refusal = await client.response(null);
    t.is(codeOf(refusal), serviceErrorCodes.tooManyConnections);
    t.regex(refusal.ok ? '' : refusal.error.message, /open-file limit 128/);
    await client.closed;
  }
  for (const client of held) client.destroy();
  await running.dispose();
});

test('a get beyond --max-waiting-gets gets ERR_WARMPOOL_TOO_MANY_WAITING; the connection and its other gets carry on', async (t) => {
  const factory = manualFactory();
  const running = await startInProcessService(factory, { size: 1, maxWorkers: 1 }, { limits: { maxWaitingGets: 3 } });
  const refusals = countRefusals(running);
  const a = await RawClient.connect(running.socketPath);
  for (let id = 1; id <= 5; id++) a.send({ id, type: 'get', timeoutMs: null });
  t.is(codeOf(await a.response(4)), serviceErrorCodes.tooManyWaiting);
  t.is(codeOf(await a.response(5)), serviceErrorCodes.tooManyWaiting);
  t.is(refusals.get(serviceErrorCodes.tooManyWaiting), 2);
  t.is(running.service.status().waiting, 3);
  a.send({ id: 'status', type: 'status' });
  t.like(await a.response('status'), { ok: true });
  await eventually(() => factory.pending.length === 1);
  factory.pending[0]?.resolve();
  t.like(await a.response(1), { ok: true, container: { id: 'fake-0' } });
  // Room for one more now.
  a.send({ id: 6, type: 'get', timeoutMs: null });
  await eventually(() => running.service.status().waiting === 3);
  a.destroy();
  await running.dispose();
  assertNothingLost(t, factory);
});

test('a client that never reads is closed with ERR_WARMPOOL_UNREAD_LIMIT once its unread answers pass the limit', async (t) => {
  const running = await startInProcessService(instantFactory(), { size: 1 }, { limits: { maxUnreadBytes: 2048 } });
  const refusals = countRefusals(running);
  const socket = createConnection(running.socketPath);
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  // Never read: Node stops reading once its own buffer is full, then the kernel's buffers fill up.
  socket.pause();
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const requests = Array.from({ length: 5000 }, (_, id) => `{"id":${id},"type":"status"}\n`).join('');
  socket.write(requests);
  await eventually(() => running.service.status().connections === 0, 10_000, 'the service to close the connection');
  t.is(refusals.get(serviceErrorCodes.unreadLimit), 1);
  // The client sees the end once it reads what reached it (the answer itself was still in the service's buffer).
  socket.resume();
  await closed;
  const next = await RawClient.connect(running.socketPath);
  next.send({ id: 1, type: 'get' });
  t.like(await next.response(1), { ok: true });
  next.destroy();
  await running.dispose();
});

test('a line begun and not finished within --line-timeout-ms gets ERR_WARMPOOL_LINE_TIMEOUT and a closed connection', async (t) => {
  const clock = new FakeClock();
  const running = await startInProcessService(instantFactory(), { size: 1 }, { clock, limits: { lineTimeoutMs: 30_000 } });
  const refusals = countRefusals(running);
  const patient = await RawClient.connect(running.socketPath);
  patient.send({ id: 1, type: 'status' });
  t.like(await patient.response(1), { ok: true });

  const slow = await RawClient.connect(running.socketPath);
  slow.send('{"id":0,"type":"status"}\n{"id":1,"ty');
  t.like(await slow.response(0), { ok: true });
  // Time passes (on the service's clock) until the half line's deadline has gone by.
  await eventually(() => {
    clock.advance(30_000);
    return slow.responses.length > 0 || slow.isClosed;
  });
  t.is(codeOf(await slow.response(null)), serviceErrorCodes.lineTimeout);
  await slow.closed;
  t.is(refusals.get(serviceErrorCodes.lineTimeout), 1);

  // Complete lines never start the clock: the idle client that sent only whole lines is still served.
  clock.advance(10 * 60_000);
  patient.send({ id: 2, type: 'status' });
  t.like(await patient.response(2), { ok: true });
  patient.destroy();
  await running.dispose();
});
