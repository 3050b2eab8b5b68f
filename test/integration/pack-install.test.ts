import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { lstat, mkdir, mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { execa } from 'execa';
import { loadEngineConfig, packageRoot } from '../../harness/engine-config.js';
import { reapBackendOrphans, resolveBackendSettings } from '../../harness/backend.js';
import type { DoctorReport } from '../../harness/doctor/doctor-report.js';
import type { ServiceStatus } from '../../harness/service/protocol.js';
import { randomSuffix } from '../../lib/backends/owner.js';
import { doctorPoolId as doctorTrialPoolId } from '../../harness/doctor/checks/container-start.js';
import { assertEngine, containersOfPool } from '../helpers/engines.js';

// Installs warmpool as a user would: `npm pack` in this repository, then `npm install` of that tarball into an
// empty directory, and runs the installed CLI from there (`npx warmpool --help`, `warmpool doctor`, a one-kind
// `warmpool serve` stopped by SIGTERM). The installed copy must work without this repository around it: it is
// run with the installed directory as working directory and gets the engines only through the environment, as
// an operator would give them (DOCKER_HOST, WARMPOOL_DOCKER_IMAGE), never through this repo's .engines/engines.env.
//
// No network: the install is `--offline`, from npm's cache, which `npm ci` in this repository filled with every
// dependency's tarball. npm fetches a dependency's registry metadata (its packument) whenever it has to choose
// a version, and `npm ci` never does, so the cache may have none; the empty directory therefore gets a
// package-lock.json pinning the dependencies to this repository's lock (its production entries), as a user
// installing from a lockfile would have. Install scripts are skipped: the only ones are optional native
// speed-ups of dependencies (cpu-features, ssh2), which warmpool does not need.

const engine = loadEngineConfig();
const runId = randomSuffix().slice(0, 6);
const servePoolId = `pack-serve-${runId}`;
/** The pool whose socket, lock and orphans the doctor looks at (its trial container goes to the pool "doctor"). */
const doctorPoolId = `pack-doctor-${runId}`;
const children = new Set<ChildProcess>();

/** The deadline for each npm step; packing builds the package (tsc), which is slow on a loaded 2-core machine. */
const npmTimeoutMs = 150_000;
/** The deadline for one CLI command, and for the service to fill its pool of one. */
const cliTimeoutMs = 60_000;

test.before(async () => {
  await assertEngine('docker');
});

test.after.always(async () => {
  // Only acts when the test failed half-way: it asserts that the service exited and left nothing.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await reapBackendOrphans(resolveBackendSettings({ backend: 'docker', poolId: servePoolId }), true).catch(() => undefined);
});

/**
 * The environment of a user's shell: ours without what npm sets for a script of this repository (which would
 * point npm and npx back at it) and without any engines setting, plus the engines given explicitly.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const fromRepoScript = /^npm_(package|lifecycle)_/i.test(key) || /^(npm_config_local_prefix|npm_command|init_cwd)$/i.test(key);
    if (!fromRepoScript && !key.startsWith('WARMPOOL_') && key !== 'DOCKER_HOST') env[key] = value;
  }
  env['DOCKER_HOST'] = `unix://${engine.dockerSocket}`;
  env['WARMPOOL_DOCKER_IMAGE'] = engine.dockerImage;
  return env;
}

/** Runs a command to its end; its output and exit code, never a rejection (the assertions name the output). */
async function run(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeout: number) {
  const result = await execa(file, args, { cwd, env, extendEnv: false, reject: false, timeout, stdin: 'ignore' });
  const output = `$ ${file} ${args.join(' ')} (in ${cwd}) -> exit ${String(result.exitCode)}${result.timedOut ? ' (timed out)' : ''}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  return { code: result.exitCode, stdout: result.stdout, output };
}

interface PackageLockEntry {
  readonly dev?: boolean;
  readonly [key: string]: unknown;
}

/**
 * package.json and package-lock.json of an empty project depending on the tarball: the lock has the tarball
 * and this repository's production dependencies at the versions and integrities `npm ci` installed here.
 */
async function writeUserProject(dir: string, tarball: string): Promise<void> {
  const repoPackage = JSON.parse(await readFile(join(packageRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  const repoLock = JSON.parse(await readFile(join(packageRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, PackageLockEntry> };
  const spec = `file:${relative(dir, tarball).split(sep).join('/')}`;
  const integrity = `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`;
  const project = { name: 'warmpool-user', version: '1.0.0', private: true, dependencies: { warmpool: spec } };
  const packages: Record<string, unknown> = {
    '': { name: project.name, version: project.version, dependencies: project.dependencies },
    'node_modules/warmpool': {
      version: repoPackage['version'],
      resolved: spec,
      integrity,
      license: repoPackage['license'],
      dependencies: repoPackage['dependencies'],
      bin: repoPackage['bin'],
      engines: repoPackage['engines'],
    },
  };
  for (const [path, entry] of Object.entries(repoLock.packages)) if (path !== '' && entry.dev !== true) packages[path] = entry;
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(project, null, 2)}\n`);
  await writeFile(join(dir, 'package-lock.json'), `${JSON.stringify({ name: project.name, version: project.version, lockfileVersion: 3, requires: true, packages }, null, 2)}\n`);
}

/** Resolves with the first stdout line matching `pattern`; rejects if the process exits or the deadline passes first. */
async function stdoutLine(child: ChildProcess, pattern: RegExp, describe: () => string): Promise<string> {
  const stream = child.stdout;
  if (!stream) throw new Error('no stdout pipe');
  let buffered = '';
  let onData = (_chunk: string): void => undefined;
  let onExit = (): void => undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      onData = (chunk) => {
        buffered += chunk;
        const line = buffered.split('\n').find((text) => pattern.test(text));
        if (line !== undefined) resolve(line);
      };
      onExit = () => reject(new Error(`exited (code ${String(child.exitCode)}) before printing ${pattern}\n${describe()}`));
      timer = setTimeout(() => reject(new Error(`no ${pattern} within ${cliTimeoutMs} ms\n${describe()}`)), cliTimeoutMs);
      stream.on('data', onData);
      child.once('exit', onExit);
    });
  } finally {
    stream.off('data', onData);
    child.off('exit', onExit);
    clearTimeout(timer);
  }
}

test.serial('the packed tarball installs offline into an empty directory, and its CLI helps, doctors, serves and stops there', async (t) => {
  t.timeout(240_000);
  const root = await mkdtemp(join(tmpdir(), 'wp-pack-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const packDir = join(root, 'pack');
  const userDir = join(root, 'user');
  await mkdir(packDir);
  await mkdir(userDir);
  const env = userEnv();

  // `npm pack` runs `prepare` (the build), so the tarball carries a fresh dist/.
  const pack = await run('npm', ['pack', '--pack-destination', packDir], packageRoot, env, npmTimeoutMs);
  t.is(pack.code, 0, pack.output);
  const tarballs = (await readdir(packDir)).filter((name) => name.endsWith('.tgz'));
  t.is(tarballs.length, 1, `${pack.output}\npack directory: ${tarballs.join(', ')}`);
  const tarball = join(packDir, tarballs[0] ?? '');

  await writeUserProject(userDir, tarball);
  const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], userDir, env, npmTimeoutMs);
  t.is(install.code, 0, install.output);
  // A real copy, not a link back into this repository.
  const installed = join(userDir, 'node_modules', 'warmpool');
  t.false((await lstat(installed)).isSymbolicLink(), 'node_modules/warmpool is a copy');
  t.false((await realpath(installed)).startsWith(packageRoot + sep), 'node_modules/warmpool is outside the repository');

  const help = await run('npx', ['--no-install', 'warmpool', '--help'], userDir, env, cliTimeoutMs);
  t.is(help.code, 0, help.output);
  t.regex(help.stdout, /^Usage: warmpool <command>/m, help.output);
  t.regex(help.stdout, /^\s+serve\s/m, help.output);
  t.regex(help.stdout, /^\s+doctor\s/m, help.output);

  const doctor = await run(
    'npx',
    ['--no-install', 'warmpool', 'doctor', '--backend', 'docker', '--pool-id', doctorPoolId, '--socket', join(root, 'doctor.sock'), '--json'],
    userDir,
    env,
    cliTimeoutMs,
  );
  t.is(doctor.code, 0, doctor.output);
  const report = JSON.parse(doctor.stdout) as DoctorReport;
  t.true(report.ok, doctor.output);
  // The engine it found is the one given through the environment, not a default.
  t.deepEqual(
    report.checks.filter((check) => ['engine', 'image', 'container'].includes(check.id)).map((check) => check.status),
    ['pass', 'pass', 'pass'],
    doctor.output,
  );
  t.true(report.checks.find((check) => check.id === 'engine')?.message.includes(engine.dockerSocket), doctor.output);
  // Its trial container (named in the check's message) was removed before it exited.
  const trial = /warmpool-doctor-\d+-\w+/.exec(report.checks.find((check) => check.id === 'container')?.message ?? '')?.[0];
  t.truthy(trial, doctor.output);
  t.false((await containersOfPool('docker', doctorTrialPoolId)).some((name) => name.includes(trial ?? '?')), `${trial ?? ''} is gone`);

  // `node <bin>` rather than npx, which does not pass SIGTERM on to the service.
  const socket = join(root, 's.sock');
  const bin = join(installed, 'dist', 'harness', 'cli', 'warmpool.js');
  const serve = spawn(process.execPath, [bin, 'serve', '--backend', 'docker', '--size', '1', '--workers', '1', '--pool-id', servePoolId, '--socket', socket], {
    cwd: userDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(serve);
  const exited = once(serve, 'exit').then(([code]) => code as number | null);
  let serveOut = '';
  let serveErr = '';
  serve.stdout.setEncoding('utf8').on('data', (text: string) => (serveOut += text));
  serve.stderr.setEncoding('utf8').on('data', (text: string) => (serveErr += text));
  const serveOutput = (): string => `serve stdout: ${serveOut}\nserve stderr: ${serveErr}`;

  const listening = JSON.parse(await stdoutLine(serve, /"socket"/, serveOutput)) as { socket: string; pid: number };
  t.is(listening.socket, socket, serveOutput());
  t.is(listening.pid, serve.pid ?? -1, serveOutput());

  // The pool of one fills: the installed `warmpool status` says so. Polled (the CLI is what is under test, and
  // it has no "wait until ready"), with a generous deadline.
  const deadline = Date.now() + cliTimeoutMs;
  let status: ServiceStatus | undefined;
  let lastStatus = '';
  while (Date.now() < deadline) {
    const answer = await run('npx', ['--no-install', 'warmpool', 'status', '--socket', socket, '--json'], userDir, env, cliTimeoutMs);
    lastStatus = answer.output;
    if (answer.code === 0) {
      status = JSON.parse(answer.stdout) as ServiceStatus;
      if (status.ready === 1) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  t.is(status?.ready, 1, `${lastStatus}\n${serveOutput()}`);
  t.is(status?.capacity, 1, lastStatus);
  t.is(status?.poolId, servePoolId, lastStatus);
  t.is((await containersOfPool('docker', servePoolId)).length, 1, 'its one container is on the engine');

  serve.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running'), cliTimeoutMs)))]);
  clearTimeout(timer);
  t.is(code, 0, serveOutput());
  t.deepEqual(await containersOfPool('docker', servePoolId), [], `nothing of pool ${servePoolId} is left\n${serveOutput()}`);
});
