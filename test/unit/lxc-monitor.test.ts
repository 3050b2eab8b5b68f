import { endianness } from 'node:os';
import test from 'ava';
import { buildLxcName, lxcPoolNamePattern } from '../../lib/backends/lxc/lxc-names.js';
import { decodeMonitorExitStatus, LxcMonitorParser } from '../../lib/backends/lxc/lxc-monitor-parser.js';
import { encodeMonitorStateMessage, monitorFifoPath, monitorProbeName } from '../../lib/backends/lxc/lxc-monitor-probe.js';
import { isLxcNameOfPool } from '../../lib/backends/lxc/lxc-names.js';

const poolId = 'lab';
const ours = buildLxcName(poolId, 1234, '0badf00d');
const probeName = monitorProbeName(poolId);

function parser(): LxcMonitorParser {
  return new LxcMonitorParser({ isWatched: (name) => isLxcNameOfPool(name, poolId), probeName });
}

const state = (name: string, to: string): string => `'${name}' changed state to [${to}]`;
const exited = (name: string, status: number): string => `'${name}' exited with status [${status}]`;

test('a stop as lxc-monitor prints it (lxc-stop -k, kill -9 of the init) is one death without an exit code', (t) => {
  const p = parser();
  t.is(p.parse(state(ours, 'STARTING')), undefined);
  t.is(p.parse(state(ours, 'RUNNING')), undefined);
  // Seen on LXC 5.0.2 for both: the init killed by SIGKILL prints status 0.
  t.is(p.parse(exited(ours, 0)), undefined);
  t.deepEqual(p.parse(state(ours, 'STOPPING')), { kind: 'died', death: { id: ours, reason: 'died', oomKilled: false } });
  t.is(p.parse(state(ours, 'STOPPED')), undefined, 'STOPPED after STOPPING is the same death');
});

test('an init that exited with a code reports it with the death', (t) => {
  const p = parser();
  p.parse(exited(ours, 3));
  t.deepEqual(p.parse(state(ours, 'STOPPING')), {
    kind: 'died',
    death: { id: ours, reason: 'died', exitCode: 3, oomKilled: false },
  });
});

test('a STOPPED without STOPPING (a monitor that started late) or an ABORTING start is a death too', (t) => {
  const p = parser();
  t.deepEqual(p.parse(state(ours, 'STOPPED')), { kind: 'died', death: { id: ours, reason: 'died', oomKilled: false } });
  const other = buildLxcName(poolId, 1234, 'aaaaaaaa');
  t.like(p.parse(state(other, 'ABORTING')), { kind: 'died', death: { id: other } });
  t.is(p.parse(state(other, 'STOPPING')), undefined);
  t.is(p.parse(state(other, 'STOPPED')), undefined);
});

test('each run of a container dies once: after a restart its next stop is reported again, with its own exit code', (t) => {
  const p = parser();
  p.parse(exited(ours, 7));
  t.like(p.parse(state(ours, 'STOPPING')), { death: { exitCode: 7 } });
  // A reboot: STOPPING, then STARTING without STOPPED.
  p.parse(state(ours, 'STARTING'));
  p.parse(state(ours, 'RUNNING'));
  const again = p.parse(state(ours, 'STOPPING'));
  t.deepEqual(again, { kind: 'died', death: { id: ours, reason: 'died', oomKilled: false } }, 'no stale exit code');
});

test("another pool's containers, frozen states and other lines are not deaths", (t) => {
  const p = parser();
  const otherPool = buildLxcName('lab-2', 1234, '0badf00d');
  t.is(p.parse(exited(otherPool, 3)), undefined);
  t.is(p.parse(state(otherPool, 'STOPPING')), undefined);
  t.is(p.parse(state('base-busybox', 'STOPPED')), undefined);
  for (const frozen of ['FREEZING', 'FROZEN', 'THAWED']) t.is(p.parse(state(ours, frozen)), undefined);
  t.is(p.parse(''), undefined);
  t.is(p.parse('lxc-monitor: monitor.c: 280 Failed to connect'), undefined);
  t.is(p.parse(`${state(ours, 'STOPPING')} trailing`), undefined);
});

test('the probe is recognised in any state, and only this watch’s probe', (t) => {
  const p = parser();
  t.deepEqual(p.parse(state(probeName, 'RUNNING')), { kind: 'probe' });
  t.deepEqual(p.parse(state(probeName, 'STOPPED')), { kind: 'probe' });
  t.is(p.parse(state(monitorProbeName(poolId), 'RUNNING')), undefined, "another watch's probe");
});

test('exit status: 1-255 is an exit code; 0 (a clean exit or a kill by a signal) and anything else is none', (t) => {
  t.is(decodeMonitorExitStatus(1), 1);
  t.is(decodeMonitorExitStatus(137), 137);
  t.is(decodeMonitorExitStatus(255), 255);
  t.is(decodeMonitorExitStatus(0), undefined);
  t.is(decodeMonitorExitStatus(256), undefined);
  t.is(decodeMonitorExitStatus(-1), undefined);
  t.is(decodeMonitorExitStatus(Number.NaN), undefined);
});

test("the pool's name pattern matches its names only, as an anchored POSIX regex would", (t) => {
  const pattern = (id: string): RegExp => new RegExp(`^${lxcPoolNamePattern(id)}$`);
  t.true(pattern('lab').test(ours));
  t.false(pattern('lab').test(buildLxcName('lab-2', 1234, '0badf00d')), 'a pool id that is a prefix of another');
  t.true(pattern('lab-2').test(buildLxcName('lab-2', 1234, '0badf00d')));
  t.false(pattern('lab').test(probeName));
  t.false(pattern('lab').test(`${ours}x`));
  t.false(pattern('lab').test('warmpool-lab-0123-0badf00d'), 'a pid never starts with 0');
  const dotted = 'a.b';
  t.true(pattern(dotted).test(buildLxcName(dotted, 5, '12345678')));
  t.false(pattern(dotted).test(buildLxcName('axb', 5, '12345678')), 'the dot is literal');
  t.throws(() => lxcPoolNamePattern('Bad Id'));
});

test('the probe message has the layout of LXC’s struct lxc_msg', (t) => {
  const message = encodeMonitorStateMessage(probeName);
  t.is(message.length, 264);
  const readInt = (offset: number): number =>
    endianness() === 'LE' ? message.readInt32LE(offset) : message.readInt32BE(offset);
  t.is(readInt(0), 0, 'lxc_msg_state');
  t.is(message.subarray(4, 4 + probeName.length).toString('utf8'), probeName);
  t.is(message[4 + probeName.length], 0, 'the name is NUL-terminated');
  t.is(readInt(260), 2, 'RUNNING');
  t.throws(() => encodeMonitorStateMessage('x'.repeat(256)), { instanceOf: RangeError });
});

test('probe names hold no character of a pool id or container name, so they never match a pool', (t) => {
  t.regex(probeName, new RegExp(`^warmpool-watch:lab:${process.pid}:[0-9a-f]{8}$`));
  t.not(monitorProbeName(poolId), probeName);
});

test("the FIFO is where LXC's get_rundir() puts it for root: /run/lxc/<lxcpath as given>/monitor-fifo", async (t) => {
  if (process.geteuid?.() !== 0) {
    t.regex(await monitorFifoPath('/p'), /\/lxc\/\/p\/monitor-fifo$/);
    return;
  }
  t.is(await monitorFifoPath('/var/lib/lxc'), '/run/lxc//var/lib/lxc/monitor-fifo');
});
