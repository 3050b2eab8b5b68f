import test from 'ava';
import { execa } from 'execa';
import { AgentOutput } from '../../lib/backends/agent-output.js';
import { agentInput, agentMarkers, agentScript } from '../../lib/backends/agent-protocol.js';
import { parseLxcAgentPath } from '../../lib/backends/lxc/lxc-agent.js';

const nonce = '0123456789abcdef01234567';

function feed(output: AgentOutput, stream: 'stdout' | 'stderr', text: string | Buffer): void {
  output[stream].write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
}

test('markers are cut out of both streams, also when they arrive split across chunks', async (t) => {
  const output = new AgentOutput(nonce);
  feed(output, 'stderr', `${nonce}:${agentMarkers.started}\nerr`);
  t.true(output.started);
  feed(output, 'stdout', 'out');
  feed(output, 'stderr', `\n${nonce}:${agentMarkers.exit}4`);
  feed(output, 'stderr', '2\n');
  t.false(output.isFinished, 'the status alone does not finish the run: stdout may still be on its way');
  feed(output, 'stdout', `put\n${nonce}:${agentMarkers.end.slice(0, 1)}`);
  feed(output, 'stdout', `${agentMarkers.end.slice(1)}\n`);
  t.is(await output.finished, 'finished');
  t.is(output.exitCode, 42);
  t.is(output.stdoutText(), 'output\n');
  t.is(output.stderrText(), 'err\n');
});

test('output that fakes a marker with another nonce stays output; binary bytes are kept', (t) => {
  const output = new AgentOutput(nonce);
  const fake = `ffffffffffffffffffffffff:${agentMarkers.end}\n`;
  feed(output, 'stderr', `${nonce}:${agentMarkers.started}\n`);
  feed(output, 'stdout', Buffer.from([0xff, 0x00, 0x0a]));
  feed(output, 'stdout', fake);
  t.false(output.isFinished);
  feed(output, 'stderr', `${nonce}:${agentMarkers.exit}0\n`);
  feed(output, 'stdout', `${nonce}:${agentMarkers.end}\n`);
  t.true(output.isFinished);
  t.is(output.stdoutText(), `\ufffd\0\n${fake}`);
});

test('a missing working directory is said instead of a status', (t) => {
  const output = new AgentOutput(nonce);
  feed(output, 'stderr', `${nonce}:${agentMarkers.started}\n${nonce}:${agentMarkers.noCwd}\n`);
  feed(output, 'stdout', `${nonce}:${agentMarkers.end}\n`);
  t.true(output.isFinished);
  t.true(output.noCwd);
  t.is(output.exitCode, undefined);
});

test('the agent script runs the input in a real shell: arguments, env, cwd and the exit status come back', async (t) => {
  const input = agentInput(nonce, ['sh', '-c', 'printf "%s|%s|%s" "$1" "$V" "$(pwd)"; echo e >&2; exit 7', 'sh', "a'b\nc"], {
    env: { V: 'x y' },
    cwd: '/',
  });
  const shell = await execa('/bin/sh', ['-c', agentScript], { input, reject: false, encoding: 'buffer', stripFinalNewline: false });
  const output = new AgentOutput(nonce);
  feed(output, 'stderr', Buffer.from(shell.stderr));
  feed(output, 'stdout', Buffer.from(shell.stdout));
  t.true(output.isFinished);
  t.is(output.exitCode, 7);
  t.is(output.stdoutText(), "a'b\nc|x y|/");
  t.is(output.stderrText(), 'e\n');
});

test('an LXC agent path is taken only in the shape the factory makes', (t) => {
  const path = `/proc/4242/root/tmp/.warmpool-agent-${'a'.repeat(32)}`;
  t.deepEqual(parseLxcAgentPath(path), { initPid: 4242, path });
  for (const forged of ['/proc/1/root/etc', `/proc/0/root/tmp/.warmpool-agent-${'a'.repeat(32)}`, `${path}/..`, `/proc/self/root/tmp/.warmpool-agent-${'a'.repeat(32)}`]) {
    t.is(parseLxcAgentPath(forged), undefined, forged);
  }
});
