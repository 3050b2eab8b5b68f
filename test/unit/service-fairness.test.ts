import test from 'ava';
import { manualFactory } from '../../fixtures/fake-factory.js';
import { disposeInProcessServices, startInProcessService } from '../../fixtures/service/in-process-service.js';
import { RawClient, eventually } from '../../fixtures/service/raw-client.js';
import type { ServiceResponse } from '../../harness/service/protocol.js';
import { serviceErrorCodes } from '../../harness/service/service-errors.js';
import { assertNothingLost } from '../helpers/ledger.js';

test.after.always(disposeInProcessServices);

function containerOf(response: ServiceResponse): string | undefined {
  return response.ok ? (response as { container?: { id: string } | null }).container?.id : undefined;
}

test('a flood of waiting gets from one client does not starve another: the next container but one is theirs', async (t) => {
  const factory = manualFactory();
  const running = await startInProcessService(factory, { size: 1, maxWorkers: 1 }, { limits: { maxWaitingGets: 1000 } });
  const flood = await RawClient.connect(running.socketPath);
  const total = 20_000;
  const lines: string[] = [];
  for (let id = 0; id < total; id++) lines.push(`{"id":${id},"type":"get","timeoutMs":null}\n`);
  flood.send(lines.join(''));
  // Every get past the limit is answered at once; the first 1000 wait.
  await flood.until(() => flood.responses.length === total - 1000, 30_000, 'the refusals');
  t.true(flood.responses.every((response) => !response.ok && response.error.code === serviceErrorCodes.tooManyWaiting));
  t.is(running.service.status().waiting, 1000);

  const other = await RawClient.connect(running.socketPath);
  other.send({ id: 'mine', type: 'get', timeoutMs: 10_000 });
  await eventually(() => running.service.status().waiting === 1001);
  // Two containers come: the flood's oldest get was in line first and takes one; the other client's get the next.
  for (let n = 0; n < 2; n++) {
    await eventually(() => factory.pending.length === 1, 5000, `creation ${n}`);
    factory.pending[0]?.resolve();
  }
  t.is(containerOf(await other.response('mine')), 'fake-1');
  t.is(containerOf(await flood.response(0)), 'fake-0');
  t.is(running.service.status().waiting, 999);
  flood.destroy();
  other.destroy();
  await eventually(() => running.service.status().connections === 0);
  await running.dispose();
  assertNothingLost(t, factory);
});

test('three clients waiting are served in rounds, each in the order of its own requests', async (t) => {
  const factory = manualFactory();
  const running = await startInProcessService(factory, { size: 1, maxWorkers: 1 });
  const clients = await Promise.all(['a', 'b', 'c'].map(() => RawClient.connect(running.socketPath)));
  const [a, b, c] = clients as [RawClient, RawClient, RawClient];
  for (const id of ['a1', 'a2', 'a3']) a.send({ id, type: 'get', timeoutMs: null });
  await eventually(() => running.service.status().waiting === 3);
  for (const id of ['b1', 'b2']) b.send({ id, type: 'get', timeoutMs: null });
  await eventually(() => running.service.status().waiting === 5);
  c.send({ id: 'c1', type: 'get', timeoutMs: null });
  await eventually(() => running.service.status().waiting === 6);
  const order: string[] = [];
  const owner = new Map<string, string>();
  for (let n = 0; n < 6; n++) {
    await eventually(() => factory.pending.length === 1, 5000, `creation ${n}`);
    factory.pending[0]?.resolve();
    await eventually(() => running.service.status().waiting === 5 - n);
  }
  for (const [client, ids] of [[a, ['a1', 'a2', 'a3']], [b, ['b1', 'b2']], [c, ['c1']]] as const) {
    for (const id of ids) owner.set(containerOf(await client.response(id)) ?? '?', id);
  }
  for (let n = 0; n < 6; n++) order.push(owner.get(`fake-${n}`) ?? '?');
  t.deepEqual(order, ['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  for (const client of clients) client.destroy();
  await running.dispose();
  assertNothingLost(t, factory);
});
