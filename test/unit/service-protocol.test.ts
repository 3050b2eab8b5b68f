import test from 'ava';
import { RequestParseError, encodeMessage, isContainerDescriptor, parseRequest, parseResponse } from '../../harness/service/protocol.js';
import { serviceErrorCodes } from '../../harness/service/service-errors.js';

const rejects = test.macro({
  exec(t, line: string, code: string, id: string | number | null) {
    const error = t.throws(() => parseRequest(line), { instanceOf: RequestParseError });
    t.is(error?.code, code);
    t.is(error?.id, id);
  },
  title: (given, line: string) => given ?? `refuses ${line.length > 60 ? `${line.slice(0, 57)}...` : line}`,
});

test('parses each request type', (t) => {
  t.deepEqual(parseRequest('{"id":1,"type":"get","timeoutMs":500,"keep":true}'), { id: 1, type: 'get', timeoutMs: 500, keep: true });
  t.deepEqual(parseRequest('{"id":"a","type":"get"}'), { id: 'a', type: 'get' });
  t.deepEqual(parseRequest('{"id":2,"type":"get","timeoutMs":null}'), { id: 2, type: 'get', timeoutMs: null });
  t.deepEqual(parseRequest('{"id":3,"type":"release","container":"warmpool-x"}'), { id: 3, type: 'release', container: 'warmpool-x' });
  t.deepEqual(parseRequest('{"id":4,"type":"cancel","target":1}'), { id: 4, type: 'cancel', target: 1 });
  for (const type of ['status', 'errors', 'shutdown']) t.deepEqual(parseRequest(`{"id":5,"type":"${type}"}`), { id: 5, type });
});

test('parses bytes, and refuses bytes that are not UTF-8', (t) => {
  t.deepEqual(parseRequest(Buffer.from('{"id":1,"type":"status"}')), { id: 1, type: 'status' });
  const error = t.throws(() => parseRequest(Buffer.from([0x7b, 0xff, 0x7d])), { instanceOf: RequestParseError });
  t.is(error?.code, serviceErrorCodes.badRequest);
});

test(rejects, 'not json', serviceErrorCodes.badRequest, null);
test(rejects, '{"id":1,"type":"status"', serviceErrorCodes.badRequest, null);
test(rejects, '[1,2]', serviceErrorCodes.badRequest, null);
test(rejects, 'null', serviceErrorCodes.badRequest, null);
test(rejects, '"status"', serviceErrorCodes.badRequest, null);
test(rejects, '{"type":"status"}', serviceErrorCodes.badRequest, null);
test(rejects, '{"id":1.5,"type":"status"}', serviceErrorCodes.badRequest, null);
test(rejects, '{"id":"","type":"status"}', serviceErrorCodes.badRequest, null);
test(rejects, `{"id":"${'x'.repeat(129)}","type":"status"}`, serviceErrorCodes.badRequest, null);
test(rejects, '{"id":{},"type":"status"}', serviceErrorCodes.badRequest, null);
test(rejects, '{"id":7}', serviceErrorCodes.badRequest, 7);
test(rejects, '{"id":7,"type":42}', serviceErrorCodes.badRequest, 7);
test(rejects, '{"id":7,"type":"explode"}', serviceErrorCodes.unknownRequest, 7);
test(rejects, '{"id":7,"type":"get","timeoutMs":"5"}', serviceErrorCodes.badRequest, 7);
test(rejects, '{"id":7,"type":"get","timeoutMs":-1}', serviceErrorCodes.badRequest, 7);
test(rejects, '{"id":7,"type":"get","keep":"yes"}', serviceErrorCodes.badRequest, 7);
test(rejects, '{"id":7,"type":"get","timeout":5}', serviceErrorCodes.badRequest, 7);
test(rejects, '{"id":7,"type":"status","extra":true}', serviceErrorCodes.badRequest, 7);
test(rejects, '{"id":7,"type":"release"}', serviceErrorCodes.badRequest, 7);
test(rejects, '{"id":7,"type":"release","container":""}', serviceErrorCodes.badRequest, 7);
test(rejects, '{"id":7,"type":"release","container":5}', serviceErrorCodes.badRequest, 7);
test(rejects, '{"id":7,"type":"cancel","target":[1]}', serviceErrorCodes.badRequest, 7);

test('a huge exponent is not a finite timeout', (t) => {
  const error = t.throws(() => parseRequest('{"id":1,"type":"get","timeoutMs":1e999}'), { instanceOf: RequestParseError });
  t.is(error?.code, serviceErrorCodes.badRequest);
});

test('encodes one message a line', (t) => {
  t.is(encodeMessage({ id: 1, ok: true }), '{"id":1,"ok":true}\n');
});

test('parseResponse checks the envelope', (t) => {
  t.deepEqual(parseResponse('{"id":1,"ok":true,"status":{}}'), { id: 1, ok: true, status: {} });
  t.deepEqual(parseResponse('{"id":null,"ok":false,"error":{"code":"E","message":"m"}}'), {
    id: null,
    ok: false,
    error: { code: 'E', message: 'm' },
  });
  t.throws(() => parseResponse('{"id":null,"ok":true}'));
  t.throws(() => parseResponse('{"id":1,"ok":"yes"}'));
  t.throws(() => parseResponse('{"id":1,"ok":false,"error":null}'));
  t.throws(() => parseResponse('{"id":1,"ok":false}'));
  t.throws(() => parseResponse('[]'));
});

test('a container descriptor is checked field by field, the LXC agent path too', (t) => {
  const lxc = { backend: 'lxc', id: 'c', name: 'c', lxcpath: '/var/lib/lxc' };
  t.true(isContainerDescriptor(lxc));
  t.true(isContainerDescriptor({ ...lxc, agentPath: '/proc/42/root/tmp/.warmpool-agent-00' }));
  t.false(isContainerDescriptor({ ...lxc, agentPath: 42 }));
  t.false(isContainerDescriptor({ ...lxc, env: { A: 1 } }));
  t.false(isContainerDescriptor({ backend: 'docker', id: 'c', name: 'c', agent: 'yes' }));
  t.false(isContainerDescriptor({ backend: 'podman', id: 'c', name: 'c' }));
});
