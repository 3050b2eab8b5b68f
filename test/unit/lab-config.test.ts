import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigFileError,
  defaultKindName,
  isLabConfigShape,
  labConfigJsonSchema,
  loadLabConfig,
  parseLabConfig,
  type LabConfig,
} from '../../harness/config/lab-config.js';
import { labConfigFromServiceConfig } from '../../harness/config/one-kind-config.js';
import { parseServeArgs } from '../../harness/service/service-config.js';
import { UsageError } from '../../harness/usage-error.js';

const fixture = 'fixtures/configs/lab-two-kinds.json';

/** Every environment-decided default spelled out, so nothing here depends on the machine's engines file. */
const env = {
  XDG_RUNTIME_DIR: '/run/user/1000',
  WARMPOOL_ENGINES_ENV: '/nonexistent/engines.env',
  DOCKER_HOST: 'unix:///test/docker.sock',
  WARMPOOL_DOCKER_IMAGE: 'test/image:1',
  WARMPOOL_LXC_PATH: '/test/lxc',
  WARMPOOL_LXC_BASE: 'test-base',
};

const defaultHost = {
  poolId: 'default',
  socket: '/run/user/1000/warmpool/default.sock',
  metricsPort: undefined,
  logLevel: 'info',
  maxCreations: 5,
  maxContainers: 40,
  shutdownTimeoutMs: 30_000,
  maxConnections: 1000,
  maxWaitingGets: 1000,
  maxUnreadBytes: 4 * 1024 * 1024,
  lineTimeoutMs: 30_000,
  maxLineBytes: 64 * 1024,
  dockerSocket: '/test/docker.sock',
  lxcPath: '/test/lxc',
};

const commonKindDefaults = {
  env: {},
  readinessCommand: undefined,
  readinessTimeoutMs: 30_000,
  creationTimeoutMs: 600_000,
  maxErrorsPerHour: 200,
  min: 1,
  max: 4,
  idleTtlMs: 300_000,
  maxAgeMs: undefined,
  pauseIdle: false,
};

const dockerDefaults = {
  image: 'test/image:1',
  command: undefined,
  labels: {},
  memoryBytes: undefined,
  cpus: undefined,
  network: 'none',
};

function kindsOf(config: LabConfig): [string, unknown][] {
  return [...config.kinds.entries()];
}

function errorOf(value: unknown): ConfigFileError | undefined {
  return caught(() => parseLabConfig(value, 'lab.json', env));
}

function caught(run: () => unknown): ConfigFileError | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigFileError) return error;
    throw error;
  }
  return undefined;
}

test('the two-kind example loads with every default filled in', (t) => {
  const config = loadLabConfig(fixture, env);
  t.deepEqual(config.host, { ...defaultHost, poolId: 'lab1', socket: '/run/user/1000/warmpool/lab1.sock', metricsPort: 9100, maxCreations: 4, maxContainers: 20 });
  t.deepEqual(kindsOf(config), [
    [
      'py311',
      {
        backend: 'docker',
        name: 'py311',
        poolId: 'lab1.py311',
        ...commonKindDefaults,
        ...dockerDefaults,
        image: 'warmpool/pysuite:3.11',
        env: { PYTHONDONTWRITEBYTECODE: '1' },
        memoryBytes: 268_435_456,
        cpus: 1,
        readinessCommand: ['/bin/sh', '-c', "python3 -c 'import sys'"],
        min: 2,
        max: 8,
        idleTtlMs: 120_000,
      },
    ],
    ['busybox', { backend: 'lxc', name: 'busybox', poolId: 'lab1.busybox', ...commonKindDefaults, base: 'base-busybox', min: 0, max: 2, pauseIdle: true }],
  ]);
  t.is(defaultKindName(config), 'py311');
});

test('a file of one bare kind per backend gets the defaults, engine ones from the environment', (t) => {
  const config = parseLabConfig({ kinds: { a: { backend: 'docker' }, b: { backend: 'lxc' } } }, 'lab.json', env);
  t.deepEqual(config.host, defaultHost);
  t.deepEqual(kindsOf(config), [
    ['a', { backend: 'docker', name: 'a', poolId: 'default.a', ...commonKindDefaults, ...dockerDefaults }],
    ['b', { backend: 'lxc', name: 'b', poolId: 'default.b', ...commonKindDefaults, base: 'test-base' }],
  ]);
});

test('max defaults to the larger of min and 4', (t) => {
  const config = parseLabConfig({ host: { maxContainers: 100 }, kinds: { big: { backend: 'docker', min: 9 }, small: { backend: 'docker', min: 0 } } }, 'lab.json', env);
  t.is(config.kinds.get('big')?.max, 9);
  t.is(config.kinds.get('small')?.max, 4);
});

test('"Infinity" is read as the number where today\'s flat config allows it', (t) => {
  const infinite = { readinessTimeoutMs: 'Infinity', creationTimeoutMs: 'Infinity', maxErrorsPerHour: 'Infinity', idleTtlMs: 'Infinity' };
  const config = parseLabConfig({ host: { lineTimeoutMs: 'Infinity' }, kinds: { a: { backend: 'lxc', ...infinite } } }, 'lab.json', env);
  t.is(config.host.lineTimeoutMs, Infinity);
  const kind = config.kinds.get('a');
  t.like(kind, { readinessTimeoutMs: Infinity, creationTimeoutMs: Infinity, maxErrorsPerHour: Infinity, idleTtlMs: Infinity });
});

test('kinds keep the file\'s order, and the first is the default kind', (t) => {
  const config = parseLabConfig({ kinds: { zeta: { backend: 'docker' }, alpha: { backend: 'lxc' }, mid: { backend: 'docker' } } }, 'lab.json', env);
  t.deepEqual([...config.kinds.keys()], ['zeta', 'alpha', 'mid']);
  t.is(defaultKindName(config), 'zeta');
});

test('a socket, engine endpoints and a $schema key for editors are taken as given', (t) => {
  const config = parseLabConfig(
    { $schema: './lab.schema.json', host: { socket: '/run/wp/lab.sock', dockerSocket: '/d.sock', lxcPath: '/l' }, kinds: { a: { backend: 'docker' } } },
    'lab.json',
    env,
  );
  t.like(config.host, { socket: '/run/wp/lab.sock', dockerSocket: '/d.sock', lxcPath: '/l' });
});

const rejects = test.macro({
  exec(t, value: unknown, expected: string) {
    const error = errorOf(value);
    t.truthy(error, 'expected a ConfigFileError');
    t.is(error?.message, expected);
  },
  title: (given = '') => `refuses ${given}`,
});

test('an unknown key in a kind', rejects, { kinds: { a: { backend: 'docker', imagee: 'x' } } },
  'lab.json: kinds.a.imagee: unknown key; the keys of a docker kind are backend, image, command, labels, memoryBytes, cpus, network, ' +
    'env, readinessCommand, readinessTimeoutMs, creationTimeoutMs, maxErrorsPerHour, min, max, idleTtlMs, maxAgeMs, pauseIdle');
test('an unknown key in host', rejects, { host: { size: 3 }, kinds: { a: { backend: 'docker' } } },
  'lab.json: host.size: unknown key; the keys of host are poolId, socket, metricsPort, logLevel, maxCreations, maxContainers, ' +
    'shutdownTimeoutMs, maxConnections, maxWaitingGets, maxUnreadBytes, lineTimeoutMs, maxLineBytes, dockerSocket, lxcPath');
test('an unknown key at the top', rejects, { kind: {}, kinds: { a: { backend: 'docker' } } },
  'lab.json: kind: unknown key; the keys here are $schema, host, kinds');
test('a max of 0', rejects, { kinds: { py311: { backend: 'docker', max: 0 } } },
  'lab.json: kinds.py311.max: expected an integer from 1 up, got 0');
test('a number given as a string', rejects, { kinds: { a: { backend: 'docker', min: '2' } } },
  'lab.json: kinds.a.min: expected an integer from 0 up, got "2"');
test('a fraction', rejects, { host: { maxCreations: 1.5 }, kinds: { a: { backend: 'docker' } } },
  'lab.json: host.maxCreations: expected an integer from 1 up, got 1.5');
test('a word for Infinity', rejects, { kinds: { a: { backend: 'docker', creationTimeoutMs: 'never' } } },
  'lab.json: kinds.a.creationTimeoutMs: expected an integer from 1 up or "Infinity", got "never"');
test('a port out of range', rejects, { host: { metricsPort: 70000 }, kinds: { a: { backend: 'docker' } } },
  'lab.json: host.metricsPort: expected an integer from 0 to 65535, got 70000');
test('a boolean given as a string', rejects, { kinds: { a: { backend: 'lxc', pauseIdle: 'yes' } } },
  'lab.json: kinds.a.pauseIdle: expected true or false, got "yes"');
test('an empty readiness command', rejects, { kinds: { a: { backend: 'docker', readinessCommand: [] } } },
  'lab.json: kinds.a.readinessCommand: expected a non-empty array of strings whose first one is not empty, e.g. ["/bin/sh", "-c", "test -e /ready"], got []');
test('a reserved label', rejects, { kinds: { a: { backend: 'docker', labels: { 'warmpool.pool': 'x' } } } },
  'lab.json: kinds.a.labels["warmpool.pool"]: expected a label name not starting with "warmpool.", got "warmpool.pool"');
test('less memory than Docker allows', rejects, { kinds: { a: { backend: 'docker', memoryBytes: 4 * 1024 * 1024 } } },
  'lab.json: kinds.a.memoryBytes: expected an integer from 6291456 up, got 4194304');
test('a relative socket', rejects, { host: { socket: 'lab.sock' }, kinds: { a: { backend: 'docker' } } },
  'lab.json: host.socket: expected an absolute path for a unix socket, at most 107 bytes, not ending in "/", got "lab.sock"');
test('an unknown log level', rejects, { host: { logLevel: 'loud' }, kinds: { a: { backend: 'docker' } } },
  'lab.json: host.logLevel: expected one of "silly", "trace", "debug", "info", "warn", "error", "fatal", "silent", got "loud"');
test('min above max', rejects, { kinds: { a: { backend: 'docker', min: 5, max: 3 } } },
  'lab.json: kinds.a.min: expected at most max (3), got 5');
test('a docker key on an lxc kind', rejects, { kinds: { a: { backend: 'lxc', image: 'busybox' } } },
  'lab.json: kinds.a.image: a docker-only key, not allowed on an lxc kind');
test('an lxc key on a docker kind', rejects, { kinds: { a: { backend: 'docker', base: 'base-busybox' } } },
  'lab.json: kinds.a.base: an lxc-only key, not allowed on a docker kind');
test('a kind without a backend', rejects, { kinds: { a: { min: 1 } } },
  'lab.json: kinds.a.backend: missing; expected "docker" or "lxc"');
test('an unknown backend', rejects, { kinds: { a: { backend: 'podman' } } },
  'lab.json: kinds.a.backend: expected "docker" or "lxc", got "podman"');
test('a kind that is not an object', rejects, { kinds: { a: 'docker' } },
  'lab.json: kinds.a: expected an object with a "backend" key, got "docker"');
test('a kind name with capitals', rejects, { kinds: { Py311: { backend: 'docker' } } },
  'lab.json: kinds.Py311: expected a kind name: 1 to 16 lowercase letters, digits, "_" or "-", starting with a letter or digit, not digits only, got "Py311"');
test('a kind name of digits only, which JSON objects would move to the front', rejects, { kinds: { a: { backend: 'docker' }, 311: { backend: 'docker' } } },
  'lab.json: kinds.311: expected a kind name: 1 to 16 lowercase letters, digits, "_" or "-", starting with a letter or digit, not digits only, got "311"');
test('no kinds', rejects, { kinds: {} }, 'lab.json: kinds: expected at least one kind, got {}');
test('a file without kinds', rejects, { host: {} }, 'lab.json: kinds: missing; expected an object of kinds, e.g. {"py311": {"backend": "docker"}}');
test('a file that is not an object', rejects, [],
  'lab.json: expected an object with "kinds" (and optionally "host"), e.g. {"kinds": {"py311": {"backend": "docker"}}}, got []');
test('kinds whose min add up to more than host.maxContainers', rejects,
  { host: { maxContainers: 5 }, kinds: { a: { backend: 'docker', min: 3, max: 3 }, b: { backend: 'lxc', min: 3 } } },
  "lab.json: kinds: expected the kinds' min to add up to at most host.maxContainers (5), got 6 (a 3, b 3)");
test('a kind whose pool id would pass 32 characters', rejects,
  { host: { poolId: 'a-rather-long-lab-name' }, kinds: { ok: { backend: 'docker' }, 'python-3-11-slim': { backend: 'docker' } } },
  'lab.json: kinds.python-3-11-slim: the kind\'s pool id "a-rather-long-lab-name.python-3-11-slim" (host.poolId, ".", the kind\'s name) ' +
    'has 39 characters, more than the 32 a pool id may have: shorten host.poolId or the kind\'s name');

test('several issues are all listed, one a line, with their paths', (t) => {
  const error = errorOf({ host: { maxCreations: 0, bogus: true }, kinds: { a: { backend: 'lxc', image: 'x', min: -1 }, b: { backend: 'docker', env: { A: 1 } } } });
  t.deepEqual(error?.issues.map((issue) => issue.path), ['host.maxCreations', 'host.bogus', 'kinds.a.min', 'kinds.a.image', 'kinds.b.env.A']);
  t.deepEqual(error?.message.split('\n'), [
    'lab.json: host.maxCreations: expected an integer from 1 up, got 0',
    'lab.json: host.bogus: unknown key; the keys of host are poolId, socket, metricsPort, logLevel, maxCreations, maxContainers, ' +
      'shutdownTimeoutMs, maxConnections, maxWaitingGets, maxUnreadBytes, lineTimeoutMs, maxLineBytes, dockerSocket, lxcPath',
    'lab.json: kinds.a.min: expected an integer from 0 up, got -1',
    'lab.json: kinds.a.image: a docker-only key, not allowed on an lxc kind',
    'lab.json: kinds.b.env.A: expected a string, got 1',
  ]);
});

test('the error is a UsageError with a stable code, naming the file', (t) => {
  const error = errorOf({ kinds: {} });
  t.true(error instanceof UsageError);
  t.is(error?.code, 'ERR_WARMPOOL_CONFIG');
  t.is(error?.file, 'lab.json');
});

test('a missing file and a file that is not JSON are ConfigFileErrors naming the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wp-lab-config-'));
  try {
    const missing = join(dir, 'missing.json');
    const notJson = join(dir, 'lab.json');
    await writeFile(notJson, '{"kinds": {"a": {"backend": "docker",}}}');
    const missingError = caught(() => loadLabConfig(missing, env));
    t.is(missingError?.message, `${missing}: cannot read the file: ENOENT: no such file or directory, open '${missing}'`);
    const jsonError = caught(() => loadLabConfig(notJson, env));
    t.is(jsonError?.file, notJson);
    t.regex(jsonError?.message ?? '', new RegExp(`^${notJson.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON: `));
    await writeFile(notJson, '{"kinds": {"a": {"backend": "docker", "max": 0}}}');
    t.is(caught(() => loadLabConfig(notJson, env))?.message, `${notJson}: kinds.a.max: expected an integer from 1 up, got 0`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the new shape is told from today\'s flat one by its kinds or host key', (t) => {
  t.true(isLabConfigShape({ kinds: {} }));
  t.true(isLabConfigShape({ host: { poolId: 'x' } }));
  t.false(isLabConfigShape({ backend: 'docker', size: 3 }));
  t.false(isLabConfigShape({}));
  t.false(isLabConfigShape(null));
  t.false(isLabConfigShape(['kinds']));
  t.false(isLabConfigShape('kinds'));
});

interface JsonSchemaNode {
  readonly description?: string;
  readonly properties?: Record<string, JsonSchemaNode>;
  readonly additionalProperties?: JsonSchemaNode | false;
  readonly propertyNames?: { readonly pattern: string };
  readonly oneOf?: JsonSchemaNode[];
  readonly required?: string[];
  readonly const?: unknown;
}

/** Every key under a `properties` of the schema (kinds' branches included), as a path, and whether it has a description. */
function schemaKeys(node: JsonSchemaNode, path: string): [string, boolean][] {
  const own = Object.entries(node.properties ?? {}).flatMap(([key, child]): [string, boolean][] => [
    [`${path}.${key}`, typeof child.description === 'string' && child.description !== ''],
    ...schemaKeys(child, `${path}.${key}`),
  ]);
  const additional = node.additionalProperties ? schemaKeys(node.additionalProperties, `${path}.*`) : [];
  const branches = (node.oneOf ?? []).flatMap((branch, index) => schemaKeys(branch, `${path}[${index}]`));
  return [...own, ...additional, ...branches];
}

test('the JSON Schema describes every key, one branch per backend, and admits the example file', async (t) => {
  const schema = labConfigJsonSchema() as unknown as JsonSchemaNode & { $schema: string };
  t.is(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  const keys = schemaKeys(schema, '');
  t.true(keys.some(([path]) => path === '.kinds.*[0].memoryBytes') && keys.some(([path]) => path === '.host.maxContainers'));
  t.deepEqual(keys.filter(([, described]) => !described), []);
  t.is(schema.additionalProperties, false);
  const kinds = schema.properties?.['kinds'];
  const branches = (kinds?.additionalProperties as JsonSchemaNode | undefined)?.oneOf ?? [];
  t.deepEqual(branches.map((branch) => branch.properties?.['backend']?.const), ['docker', 'lxc']);
  t.true(branches.every((branch) => branch.additionalProperties === false && branch.required?.includes('backend')));

  // In spirit: every key the example uses is one the schema names, in the branch of its backend.
  const example = JSON.parse(await readFile(fixture, 'utf8')) as {
    host: Record<string, unknown>;
    kinds: Record<string, Record<string, unknown>>;
  };
  const hostKeys = Object.keys(schema.properties?.['host']?.properties ?? {});
  t.deepEqual(Object.keys(example.host).filter((key) => !hostKeys.includes(key)), []);
  const namePattern = new RegExp(kinds?.propertyNames?.pattern ?? '^$', 'u');
  for (const [name, kind] of Object.entries(example.kinds)) {
    t.true(namePattern.test(name), name);
    const branch = branches.find((candidate) => candidate.properties?.['backend']?.const === kind['backend']);
    t.deepEqual(Object.keys(kind).filter((key) => !(key in (branch?.properties ?? {}))), [], name);
  }
  t.false(namePattern.test('311'));
  t.false(namePattern.test('Py311'));
});

test('today\'s flat docker config becomes one kind named default, with its pool id unchanged', (t) => {
  const service = parseServeArgs(['--size', '3', '--workers', '2', '--pool-id', 'ci', '--readiness-timeout-ms', '5000'], env);
  const config = labConfigFromServiceConfig(service, env);
  t.deepEqual(config.host, {
    ...defaultHost,
    poolId: 'ci',
    socket: '/run/user/1000/warmpool/ci.sock',
    maxCreations: 2,
    maxContainers: Infinity,
  });
  t.deepEqual(kindsOf(config), [
    [
      'default',
      { backend: 'docker', name: 'default', poolId: 'ci', ...commonKindDefaults, ...dockerDefaults, readinessTimeoutMs: 5000, min: 3, max: 3, idleTtlMs: Infinity },
    ],
  ]);
});

test('today\'s flat lxc config keeps its base, engine path and limits', (t) => {
  const service = parseServeArgs(
    ['--backend', 'lxc', '--size', '2', '--lxc-base', 'b1', '--lxc-path', '/srv/lxc', '--max-errors-per-hour', 'Infinity', '--max-connections', '7'],
    env,
  );
  const config = labConfigFromServiceConfig(service, env);
  t.like(config.host, { poolId: 'default', lxcPath: '/srv/lxc', maxConnections: 7, maxCreations: 5 });
  t.deepEqual(kindsOf(config), [
    ['default', { backend: 'lxc', name: 'default', poolId: 'default', ...commonKindDefaults, base: 'b1', maxErrorsPerHour: Infinity, min: 2, max: 2, idleTtlMs: Infinity }],
  ]);
});
