import test from 'ava';
import { demuxDockerLog } from '../../harness/bench/real-suite-docker-log.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('frames go to stdout or stderr by their stream byte, in order', (t) => {
  const body = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n'), frame(2, 'ä\n')]);
  t.deepEqual(demuxDockerLog(body), { stdout: 'out 1\nout 2\n', stderr: 'err 1\nä\n' });
});

test('an empty body is empty output; a truncated last frame keeps what arrived', (t) => {
  t.deepEqual(demuxDockerLog(Buffer.alloc(0)), { stdout: '', stderr: '' });
  const whole = frame(2, 'complete\n');
  const cut = frame(1, 'partial line').subarray(0, 8 + 4);
  t.deepEqual(demuxDockerLog(Buffer.concat([whole, cut])), { stdout: 'part', stderr: 'complete\n' });
});
