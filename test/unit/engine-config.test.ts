import test from 'ava';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { enginesEnvPath, findPackageRoot, loadEngineConfig, packageRoot } from '../../harness/engine-config.js';
import type * as EngineConfigModule from '../../harness/engine-config.js';

const repository = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A package directory named `name` with `files` (path → text) in it; removed after the test. */
async function packageDir(t: { teardown(fn: () => Promise<void>): void }, name: string, files: Record<string, string> = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'wp-engine-config-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'package.json'), JSON.stringify({ name, type: 'module' }));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

test('under tsx the package root is this repository', (t) => {
  t.is(packageRoot, repository);
});

test('the package root is found from the source and from the built layout alike, past other packages', async (t) => {
  const root = await packageDir(t, 'warmpool', { 'node_modules/dep/package.json': JSON.stringify({ name: 'dep' }) });
  for (const dir of ['harness', 'dist/harness', 'dist/harness/cli', 'node_modules/dep/lib']) {
    await mkdir(join(root, dir), { recursive: true });
    t.is(findPackageRoot(join(root, dir)), root, dir);
  }
  t.is(findPackageRoot(root), root);
});

test('no package named warmpool above: no root', async (t) => {
  const other = await packageDir(t, 'something-else');
  // tmpdir() is outside this repository, so nothing named warmpool is above the temp directory either.
  t.is(findPackageRoot(other), undefined);
});

test('the engines file under the root gives the engines; the environment overrides it key by key', async (t) => {
  const root = await packageDir(t, 'warmpool', {
    '.engines/engines.env': 'DOCKER_HOST=unix:///srv/docker.sock\nWARMPOOL_DOCKER_IMAGE=lab/busybox:1\nWARMPOOL_LXC_BASE=base-lab\n# a comment\nnot a pair\n',
  });
  t.deepEqual(loadEngineConfig({ root, env: {} }), {
    dockerSocket: '/srv/docker.sock',
    dockerImage: 'lab/busybox:1',
    lxcPath: join(root, '.engines', 'lxc'),
    lxcBase: 'base-lab',
  });
  t.like(loadEngineConfig({ root, env: { DOCKER_HOST: 'unix:///run/other.sock', WARMPOOL_LXC_PATH: '/var/lib/lxc' } }), {
    dockerSocket: '/run/other.sock',
    dockerImage: 'lab/busybox:1',
    lxcPath: '/var/lib/lxc',
  });
});

test('WARMPOOL_ENGINES_ENV points at another engines file; no file at all gives the standard places', async (t) => {
  const root = await packageDir(t, 'warmpool', { 'elsewhere/engines.env': 'WARMPOOL_DOCKER_IMAGE=from/elsewhere:2\n' });
  const env = { WARMPOOL_ENGINES_ENV: join(root, 'elsewhere', 'engines.env') };
  t.is(enginesEnvPath(env, root), join(root, 'elsewhere', 'engines.env'));
  t.is(loadEngineConfig({ root, env }).dockerImage, 'from/elsewhere:2');
  t.deepEqual(loadEngineConfig({ root, env: {} }), {
    dockerSocket: '/var/run/docker.sock',
    dockerImage: 'warmpool/busybox:latest',
    lxcPath: join(root, '.engines', 'lxc'),
    lxcBase: 'base-busybox',
  });
});

test('built into dist/, the module finds the same package root and engines file as from source', async (t) => {
  // The module compiled as `npm run build` compiles it, placed where the build puts it: <root>/dist/harness/.
  const source = await readFile(join(repository, 'harness', 'engine-config.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } });
  const root = await packageDir(t, 'warmpool', {
    'dist/harness/engine-config.js': outputText,
    '.engines/engines.env': 'WARMPOOL_DOCKER_IMAGE=built/layout:3\n',
  });
  const built = (await import(pathToFileURL(join(root, 'dist', 'harness', 'engine-config.js')).href)) as typeof EngineConfigModule;
  t.is(built.packageRoot, root);
  t.is(built.enginesEnvPath({}), join(root, '.engines', 'engines.env'));
  t.is(built.loadEngineConfig({ env: {} }).dockerImage, 'built/layout:3');
});
