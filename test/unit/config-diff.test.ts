import test from 'ava';
import { diffLabConfigs } from '../../harness/config/config-diff.js';
import { loadLabConfig, parseLabConfig, type LabConfig } from '../../harness/config/lab-config.js';
import { labConfigFromServiceConfig } from '../../harness/config/one-kind-config.js';
import { parseServeArgs } from '../../harness/service/service-config.js';

const env = {
  XDG_RUNTIME_DIR: '/run/user/1000',
  WARMPOOL_ENGINES_ENV: '/nonexistent/engines.env',
  DOCKER_HOST: 'unix:///test/docker.sock',
  WARMPOOL_DOCKER_IMAGE: 'test/image:1',
  WARMPOOL_LXC_PATH: '/test/lxc',
  WARMPOOL_LXC_BASE: 'test-base',
};

const noChange = { added: [], removed: [], changed: [], resized: [], hostChanged: [] };

const baseFile = {
  host: { poolId: 'lab1' },
  kinds: {
    py: { backend: 'docker', image: 'py:3.11', env: { A: '1', B: '2' }, min: 1, max: 4 },
    box: { backend: 'lxc', base: 'base-busybox', min: 0 },
  },
};

function config(file: unknown): LabConfig {
  return parseLabConfig(file, 'lab.json', env);
}

/** The base file with `edit` applied to a deep copy of it. */
function edited(edit: (file: typeof baseFile & Record<string, unknown>) => void): LabConfig {
  const file = structuredClone(baseFile) as typeof baseFile & Record<string, unknown>;
  edit(file);
  return config(file);
}

const before = config(baseFile);

test('a config against itself, or an equal one, differs in nothing', (t) => {
  t.deepEqual(diffLabConfigs(before, before), noChange);
  t.deepEqual(diffLabConfigs(before, config(structuredClone(baseFile))), noChange);
  const example = loadLabConfig('fixtures/configs/lab-two-kinds.json', env);
  t.deepEqual(diffLabConfigs(example, loadLabConfig('fixtures/configs/lab-two-kinds.json', env)), noChange);
});

test('spelling a default out changes nothing', (t) => {
  const after = edited((file) => {
    Object.assign(file.kinds.py, { network: 'none', pauseIdle: false, idleTtlMs: 300_000, labels: {} });
    Object.assign(file.host, { maxContainers: 40 });
  });
  t.deepEqual(diffLabConfigs(before, after), noChange);
});

test('the order of env keys does not count', (t) => {
  const after = edited((file) => {
    file.kinds.py.env = { B: '2', A: '1' };
  });
  t.deepEqual(diffLabConfigs(before, after), noChange);
});

test('kinds added and removed', (t) => {
  const after = config({ host: baseFile.host, kinds: { py: baseFile.kinds.py, go: { backend: 'docker', image: 'golang:1' }, rb: { backend: 'lxc' } } });
  t.deepEqual(diffLabConfigs(before, after), { ...noChange, added: ['go', 'rb'], removed: ['box'] });
});

const specChanges: [string, (file: typeof baseFile) => void][] = [
  ['image', (file) => void (file.kinds.py.image = 'py:3.12')],
  ['env value', (file) => void (file.kinds.py.env.A = '2')],
  ['env key added', (file) => void Object.assign(file.kinds.py.env, { C: '3' })],
  ['command', (file) => void Object.assign(file.kinds.py, { command: ['/bin/sleep', 'infinity'] })],
  ['readiness command', (file) => void Object.assign(file.kinds.py, { readinessCommand: ['/bin/true'] })],
  ['memory limit', (file) => void Object.assign(file.kinds.py, { memoryBytes: 64 * 1024 * 1024 })],
  ['network', (file) => void Object.assign(file.kinds.py, { network: 'bridge' })],
  ['creation timeout', (file) => void Object.assign(file.kinds.py, { creationTimeoutMs: 'Infinity' })],
];

for (const [what, edit] of specChanges) {
  test(`a new ${what} is a change that needs a roll-over`, (t) => {
    t.deepEqual(diffLabConfigs(before, edited(edit)), { ...noChange, changed: ['py'] });
  });
}

test('a new lxc base is a change', (t) => {
  t.deepEqual(diffLabConfigs(before, edited((file) => void (file.kinds.box.base = 'base-pysuite'))), { ...noChange, changed: ['box'] });
});

test('a kind that moves to the other backend is a change', (t) => {
  const after = edited((file) => {
    (file.kinds as Record<string, unknown>)['box'] = { backend: 'docker', min: 0 };
  });
  t.deepEqual(diffLabConfigs(before, after), { ...noChange, changed: ['box'] });
});

const sizingChanges: [string, (file: typeof baseFile) => void][] = [
  ['min', (file) => void (file.kinds.py.min = 2)],
  ['max', (file) => void (file.kinds.py.max = 6)],
  ['idle ttl', (file) => void Object.assign(file.kinds.py, { idleTtlMs: 60_000 })],
  ['max age', (file) => void Object.assign(file.kinds.py, { maxAgeMs: 3_600_000 })],
  ['pause', (file) => void Object.assign(file.kinds.py, { pauseIdle: true })],
];

for (const [what, edit] of sizingChanges) {
  test(`a new ${what} is a resize, with no roll-over`, (t) => {
    t.deepEqual(diffLabConfigs(before, edited(edit)), { ...noChange, resized: ['py'] });
  });
}

test('a kind both resized and changed counts as changed only', (t) => {
  const after = edited((file) => {
    file.kinds.py.max = 8;
    file.kinds.py.image = 'py:3.12';
  });
  t.deepEqual(diffLabConfigs(before, after), { ...noChange, changed: ['py'] });
});

test('kinds are listed in the new file\'s order', (t) => {
  const after = config({ host: baseFile.host, kinds: { box: { ...baseFile.kinds.box, min: 1 }, py: { ...baseFile.kinds.py, min: 2 } } });
  t.deepEqual(diffLabConfigs(before, after), { ...noChange, resized: ['box', 'py'] });
});

test('host keys that differ are named; the kinds stay as they are', (t) => {
  const after = edited((file) => {
    Object.assign(file.host, { logLevel: 'debug', maxContainers: 10, metricsPort: 9100 });
  });
  t.deepEqual(diffLabConfigs(before, after), { ...noChange, hostChanged: ['metricsPort', 'logLevel', 'maxContainers'] });
});

test('a new host pool id changes the socket and every kind\'s pool id, so every kind', (t) => {
  const after = edited((file) => {
    file.host.poolId = 'lab2';
  });
  t.deepEqual(diffLabConfigs(before, after), { ...noChange, changed: ['py', 'box'], hostChanged: ['poolId', 'socket'] });
});

test('today\'s flags against a file: the one-kind pool is removed and the file\'s kinds added', (t) => {
  const flat = labConfigFromServiceConfig(parseServeArgs(['--pool-id', 'lab1'], env), env);
  const diff = diffLabConfigs(flat, before);
  t.deepEqual(diff.added, ['py', 'box']);
  t.deepEqual(diff.removed, ['default']);
  t.deepEqual(diff.hostChanged, ['maxContainers']);
});
