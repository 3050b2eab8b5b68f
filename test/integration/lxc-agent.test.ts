import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { execa } from 'execa';
import { loadEngineConfig } from '../../fixtures/engines/engine-config.js';
import { LxcFactory, openLxcContainer, reapLxcOrphans, type LxcContainer } from '../../lib/backends/lxc/index.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import type { ContainerDescriptor } from '../../lib/container.js';
import { BackendError, ContainerDiedError, InvalidOptionError, timedOutExitCode } from '../../lib/index.js';
import { assertEngine } from '../helpers/engines.js';
import { registerFinalExecContract } from '../helpers/final-exec-contract.js';

// execFinal on LXC runs a job's command through the agent, a shell started in the container at creation that
// reads its one command from a FIFO, instead of an lxc-attach. Each test uses a container of its own.
const { lxcPath, lxcBase } = loadEngineConfig();
const poolId = `it-lxc-agent-${randomSuffix()}`;
const factoryEnv = { FACTORY_VAR: 'from the factory' };
const factory = new LxcFactory({ lxcpath: lxcPath, base: lxcBase, poolId, env: factoryEnv });

async function fresh(): Promise<LxcContainer> {
  return factory.createContainer({ signal: AbortSignal.timeout(60_000) });
}

function final(container: LxcContainer): NonNullable<LxcContainer['execFinal']> {
  if (container.execFinal === undefined) throw new Error(`${container.name} has no agent`);
  return container.execFinal;
}

/** Whether the command ran under the agent: its parent is the agent's shell, not lxc-attach's. */
const parentIsAgent = ['sh', '-c', 'tr "\\0" " " < /proc/$PPID/cmdline 2>/dev/null; exit 0'];

/** Processes of the container still alive (not zombies) whose command is `name`, read through exec. */
async function liveProcesses(container: LxcContainer, name: string): Promise<number> {
  const { stdout } = await container.exec(['sh', '-c', 'cat /proc/[0-9]*/stat 2>/dev/null']);
  return stdout
    .split('\n')
    .filter((line) => line.includes(`(${name})`))
    .filter((line) => !/^\S+ \(.*\) [ZX] /.test(line)).length;
}

test.before(async () => {
  await assertEngine('lxc');
});

test.after.always(async () => {
  await reapLxcOrphans({ lxcpath: lxcPath, poolId, force: true });
});

registerFinalExecContract(test, 'lxc', fresh);

test('the command runs through the agent with separate stdout and stderr and its exit code; files and exec work after it', async (t) => {
  const container = await fresh();
  try {
    t.regex(container.describe().agentPath ?? '', /^\/proc\/\d+\/root\/tmp\/\.warmpool-agent-[0-9a-f]{32}$/);
    // The factory found the init from lxc-start's monitor pid and /proc: the same pid LXC gives.
    const { stdout: initPid } = await execa('lxc-info', ['-P', lxcPath, '-n', container.name, '-p', '-H']);
    t.is(container.describe().agentPath?.split('/')[2], initPid.trim());
    t.is((await container.exec(['sh', '-c', 'echo early > /tmp/a'])).exitCode, 0, 'exec works before the final command');
    const result = await final(container)(['sh', '-c', 'cat /tmp/a; echo err >&2; echo late >> /tmp/a; printf tail; exit 3']);
    t.deepEqual(result, { exitCode: 3, stdout: 'early\ntail', stderr: 'err\n', timedOut: false });
    t.is((await container.readFile('/tmp/a')).toString('utf8'), 'early\nlate\n');
    // The agent took its one command; another goes through lxc-attach, as exec.
    const again = await final(container)(parentIsAgent);
    t.is(again.exitCode, 0);
    t.notRegex(again.stdout, /warmpool|trap/);
  } finally {
    await container.destroy();
  }
});

test('a reopened handle (another process, the pool service client) runs through the same agent', async (t) => {
  const container = await fresh();
  try {
    const reopened = openLxcContainer(JSON.parse(JSON.stringify(container.describe())) as ContainerDescriptor);
    const result = await final(reopened)(parentIsAgent);
    t.is(result.exitCode, 0);
    t.regex(result.stdout, /trap "exit 0" TERM/, 'the parent of the command is the agent shell');
  } finally {
    await container.destroy();
  }
});

test('arguments, env and cwd arrive as exec gives them; no host variable leaks; output bytes are kept', async (t) => {
  process.env['WARMPOOL_AGENT_TEST_LEAK'] = 'host only';
  const container = await fresh();
  try {
    const value = `it's "quoted"\nsecond line $HOME \\ end`;
    const command = ['sh', '-c', 'printf "%s|" "$1" "$V" "$FACTORY_VAR" "$(pwd)"; printf "\\377\\000x\\n" >&2', 'sh', `a'b\nc`];
    const options = { env: { V: value }, cwd: '/tmp' };
    const viaExec = await container.exec(command, options);
    const result = await final(container)(command, options);
    t.deepEqual(result, viaExec);
    t.is(result.stdout, `a'b\nc|${value}|from the factory|/tmp|`);
    t.deepEqual(Buffer.from(result.stderr, 'utf8').subarray(-3), Buffer.from('\0x\n'));
    // The whole environment of a command without cwd, exactly as exec's (a fresh agent: this one is used).
    const second = await fresh();
    try {
      const envViaExec = await second.exec(['env'], { env: { V: 'v' } });
      const envViaAgent = await final(second)(['env'], { env: { V: 'v' } });
      t.deepEqual(envViaAgent.stdout.split('\n').sort(), envViaExec.stdout.split('\n').sort());
      t.notRegex(envViaAgent.stdout, /WARMPOOL_AGENT_TEST_LEAK/);
    } finally {
      await second.destroy();
    }
  } finally {
    delete process.env['WARMPOOL_AGENT_TEST_LEAK'];
    await container.destroy();
  }
});

test('a timeout kills the command and all it started, its own sessions too, and resolves with 124 and the output so far', async (t) => {
  const container = await fresh();
  try {
    const command = ['sh', '-c', 'echo before; setsid sleep 301 & sleep 302 & echo err >&2; sleep 303; echo never'];
    const result = await final(container)(command, { timeoutMs: 500 });
    t.deepEqual(result, { exitCode: timedOutExitCode, stdout: 'before\n', stderr: 'err\n', timedOut: true });
    t.is(await liveProcesses(container, 'sleep'), 0, 'no sleep survives, not even the one in a session of its own');
    t.is(await container.state(), 'running', 'the container keeps running: files can still be read out');
    t.true((await container.readFile('/etc/passwd')).length > 0);
  } finally {
    await container.destroy();
  }
});

test('an abort kills the command and rejects with the reason', async (t) => {
  const container = await fresh();
  try {
    const controller = new AbortController();
    const reason = new Error('stop now');
    const ran = final(container)(['sh', '-c', 'sleep 300 & sleep 301'], { signal: controller.signal });
    await sleep(300);
    controller.abort(reason);
    t.is(await t.throwsAsync(ran), reason);
    t.is(await liveProcesses(container, 'sleep'), 0);
    // Already aborted: nothing is sent, the agent stays for a later command.
    const aborted = new AbortController();
    aborted.abort(reason);
    t.is(await t.throwsAsync(final(container)(['true'], { signal: aborted.signal })), reason);
  } finally {
    await container.destroy();
  }
});

test('a container killed under the command rejects with ContainerDiedError, not an exit code', async (t) => {
  const container = await fresh();
  try {
    const ran = final(container)(['sh', '-c', 'echo started; sleep 300']);
    await sleep(300);
    await execa('lxc-stop', ['-P', lxcPath, '-n', container.name, '-k']);
    await t.throwsAsync(ran, { instanceOf: ContainerDiedError });
  } finally {
    await container.destroy();
  }
});

test('a stopped container is a BackendError from exec: the command never started', async (t) => {
  const container = await fresh();
  try {
    await execa('lxc-stop', ['-P', lxcPath, '-n', container.name, '-k']);
    await t.throwsAsync(final(container)(['echo', 'x']), { instanceOf: BackendError, message: /is the container running/ });
  } finally {
    await container.destroy();
  }
});

test('large output and many lines arrive whole, on both streams', async (t) => {
  const container = await fresh();
  try {
    const command = ['sh', '-c', 'head -c 3000000 /dev/urandom | base64; seq 1 100000 >&2; echo last'];
    const result = await final(container)(command, { timeoutMs: 60_000 });
    t.is(result.exitCode, 0);
    t.true(result.stdout.endsWith('\nlast\n'));
    // 3,000,000 bytes are 4,000,000 base64 characters, in 52,632 lines of (at most) 76.
    t.is(result.stdout.length, 4_000_000 + 52_632 + 'last\n'.length);
    const lines = result.stderr.split('\n');
    t.is(lines.length, 100_001);
    t.is(lines[99_999], '100000');
    const expected = Array.from({ length: 100_000 }, (_, index) => `${index + 1}\n`).join('');
    t.is(createHash('sha256').update(result.stderr).digest('hex'), createHash('sha256').update(expected).digest('hex'));
  } finally {
    await container.destroy();
  }
});

test('a long command line arrives whole: up to 16 KB through the agent, above through exec', async (t) => {
  const [small, large] = await Promise.all([fresh(), fresh()]);
  try {
    const command = (value: string): string[] => ['sh', '-c', 'printf "%s " "${#1}" "${#BIG}"; tr "\\0" " " < /proc/$PPID/cmdline 2>/dev/null; exit 0', 'sh', value];
    const viaAgent = await final(small)(command('a'.repeat(6_000)), { env: { BIG: 'b'.repeat(6_000) } });
    t.regex(viaAgent.stdout, /^6000 6000 .*trap "exit 0" TERM/s);
    // 200 KB (one string may hold 128 KB): the agent would read it a byte at a time; exec starts it sooner.
    const viaExec = await final(large)(command('a'.repeat(100_000)), { env: { BIG: 'b'.repeat(100_000) } });
    t.is(viaExec.stdout.trim(), '100000 100000');
  } finally {
    await Promise.all([small.destroy(), large.destroy()]);
  }
});

test('without the agent (factory option off) a container has no execFinal and its descriptor no agent path', async (t) => {
  const plain = new LxcFactory({ lxcpath: lxcPath, base: lxcBase, poolId, agent: false });
  const container = await plain.createContainer({ signal: AbortSignal.timeout(60_000) });
  try {
    t.is(container.execFinal, undefined);
    t.is(container.describe().agentPath, undefined);
    t.is(openLxcContainer(container.describe()).execFinal, undefined);
  } finally {
    await container.destroy();
  }
});

test('a container whose agent could not start (no place for its FIFOs) has no execFinal and works through exec', async (t) => {
  // The readiness command runs before the agent starts: it leaves /tmp a plain file, where no directory can go.
  const noTmp = new LxcFactory({ lxcpath: lxcPath, base: lxcBase, poolId, readinessCommand: ['sh', '-c', 'rm -rf /tmp && touch /tmp'] });
  const container = await noTmp.createContainer({ signal: AbortSignal.timeout(60_000) });
  try {
    t.is(container.execFinal, undefined);
    t.is(container.describe().agentPath, undefined);
    t.deepEqual(await container.exec(['sh', '-c', 'echo ok; exit 2']), { exitCode: 2, stdout: 'ok\n', stderr: '', timedOut: false });
  } finally {
    await container.destroy();
  }
});

test('an agent that is gone (its command taken by another handle) leaves execFinal to exec; a forged agent path is refused', async (t) => {
  const container = await fresh();
  try {
    const other = openLxcContainer(container.describe());
    t.is((await final(other)(['true'])).exitCode, 0);
    const result = await final(container)(['sh', '-c', 'echo via exec; exit 4']);
    t.deepEqual(result, { exitCode: 4, stdout: 'via exec\n', stderr: '', timedOut: false });
    t.throws(() => openLxcContainer({ ...container.describe(), agentPath: '/proc/1/root/etc' }), { instanceOf: InvalidOptionError });
  } finally {
    await container.destroy();
  }
});

test('the command gets the signal dispositions exec gives: SIGINT not ignored (a background start would ignore it and SIGQUIT)', async (t) => {
  const container = await fresh();
  try {
    const ignored = ['sh', '-c', 'grep SigIgn /proc/self/status'];
    const throughExec = await container.exec(ignored);
    const throughAgent = await final(container)(ignored);
    t.is(throughAgent.exitCode, 0, throughAgent.stderr);
    t.is(throughAgent.stdout, throughExec.stdout);
    // Signal n is bit n-1 of the mask: SIGINT (2) is 0x2. (CPython's test_pdb fails with it ignored.)
    const mask = BigInt(`0x${throughAgent.stdout.split(':')[1]?.trim() ?? 'ffff'}`);
    t.is(mask & 0x2n, 0n, `SigIgn ${throughAgent.stdout.trim()}`);
  } finally {
    await container.destroy();
  }
});
