import test from 'ava';
import { execa } from 'execa';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { takeGlobalOptions } from '../../harness/cli/main.js';
import { parseServeArgs, serviceDefaults } from '../../harness/service/service-config.js';

// The example units in packaging/systemd/ must load in systemd as they are. Where systemd-analyze exists it
// verifies them (with ExecStart pointed at a real executable in a temporary copy: verify refuses a missing
// binary). The keys the service depends on, and the serve command line in ExecStart, are checked everywhere by
// parsing the files, so a machine without systemd still checks something real.

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const unitDir = join(root, 'packaging', 'systemd');
const unitFile = join(unitDir, 'warmpool-serve@.service');
const dropInDir = join(unitDir, 'warmpool-serve@.service.d');
const dropInFile = join(dropInDir, 'docker-only.conf');
const installedBinary = '/usr/local/bin/warmpool';

const systemdAnalyze = await execa('sh', ['-c', 'command -v systemd-analyze'], { reject: false });
const hasSystemdAnalyze = systemdAnalyze.exitCode === 0;

type Sections = Map<string, Map<string, string[]>>;

/** A unit file's sections and keys (a key may repeat); comments and blank lines dropped. Throws on a stray line. */
function parseUnit(text: string, name: string): Sections {
  const sections: Sections = new Map();
  let current: Map<string, string[]> | undefined;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section?.[1] !== undefined) {
      current = new Map();
      sections.set(section[1], current);
      continue;
    }
    const assignment = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!assignment?.[1] || current === undefined) throw new Error(`${name}:${index + 1}: not a key=value line in a section: ${raw}`);
    current.set(assignment[1], [...(current.get(assignment[1]) ?? []), assignment[2] ?? '']);
  }
  return sections;
}

/** The last value of `key` (later assignments override earlier ones for these keys). */
function value(sections: Sections, section: string, key: string): string | undefined {
  return sections.get(section)?.get(key)?.at(-1);
}

/** systemd time spans as these units write them: `90s`, `5min`, `2min 30s`. */
function seconds(span: string): number {
  let total = 0;
  for (const [, amount, unit] of span.matchAll(/(\d+)\s*(min|s)/g)) total += Number(amount) * (unit === 'min' ? 60 : 1);
  return total;
}

// Every key these units may use: a typo fails here even where systemd-analyze cannot run.
const knownKeys: Record<string, readonly string[]> = {
  Unit: ['Description', 'Documentation', 'After', 'Wants', 'Requires'],
  Service: [
    'Type', 'NotifyAccess', 'Environment', 'EnvironmentFile', 'ExecStart', 'ExecReload', 'Restart', 'RestartSec', 'RestartPreventExitStatus',
    'KillSignal', 'KillMode', 'TimeoutStopSec', 'TimeoutStartSec', 'LimitNOFILE', 'StandardOutput', 'StandardError',
    'SyslogIdentifier', 'RuntimeDirectory', 'RuntimeDirectoryMode', 'RuntimeDirectoryPreserve', 'StateDirectory',
    'ReadWritePaths', 'Delegate', 'NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'ProtectKernelModules',
    'ProtectKernelLogs', 'DynamicUser', 'User', 'SupplementaryGroups', 'CapabilityBoundingSet', 'AmbientCapabilities',
    'PrivateDevices', 'ProtectKernelTunables', 'ProtectControlGroups', 'ProtectClock', 'ProtectHostname', 'ProtectProc',
    'RestrictNamespaces', 'RestrictRealtime', 'RestrictSUIDSGID', 'LockPersonality', 'SystemCallArchitectures',
    'SystemCallFilter', 'SystemCallErrorNumber', 'RestrictAddressFamilies', 'UMask',
  ],
  Install: ['WantedBy'],
};

function unknownKeys(sections: Sections): string[] {
  const unknown: string[] = [];
  for (const [section, keys] of sections) {
    for (const key of keys.keys()) if (!(knownKeys[section] ?? []).includes(key)) unknown.push(`[${section}] ${key}`);
  }
  return unknown;
}

/** ExecStart as `warmpool` would receive it for pool `lab` with the unit's default environment. */
function execStartArgs(sections: Sections, pool: string): string[] {
  const environment = new Map<string, string>();
  for (const assignment of sections.get('Service')?.get('Environment') ?? []) {
    const [key = '', ...rest] = assignment.split('=');
    environment.set(key, rest.join('='));
  }
  const line = (value(sections, 'Service', 'ExecStart') ?? '').replaceAll('%i', pool);
  // ${VAR} is one word; $VAR is split into words (none when empty), as systemd does.
  const expanded = line.replace(/\$\{(\w+)\}/g, (_, key: string) => environment.get(key) ?? '').replace(/\$(\w+)/g, (_, key: string) => environment.get(key) ?? '');
  return expanded.split(/\s+/).filter((word) => word !== '');
}

test('the unit has the keys the service depends on, and ExecStart is a valid serve command line', async (t) => {
  const unit = parseUnit(await readFile(unitFile, 'utf8'), unitFile);
  t.deepEqual(unknownKeys(unit), []);
  const service = (key: string): string | undefined => value(unit, 'Service', key);
  // Readiness comes from systemd-notify, a child of the main process.
  t.is(service('Type'), 'notify');
  t.is(service('NotifyAccess'), 'all');
  t.is(service('Restart'), 'on-failure');
  t.is(service('KillSignal'), 'SIGTERM');
  t.is(service('KillMode'), 'mixed');
  // Longer than serve's shutdown (its timeout and the 3 s exit grace), or systemd SIGKILLs a clean shutdown.
  t.true(seconds(service('TimeoutStopSec') ?? '') > serviceDefaults.shutdownTimeoutMs / 1000 + 3, `TimeoutStopSec=${service('TimeoutStopSec')}`);
  t.true(Number(service('LimitNOFILE')) >= 4096);
  t.true((service('RuntimeDirectory') ?? '').split(/\s+/).includes('warmpool'));
  t.is(service('RuntimeDirectoryMode'), '0700');
  t.is(service('ProtectSystem'), 'strict');
  t.is(service('NoNewPrivileges'), 'yes');
  t.is(service('ProtectHome'), 'yes');
  t.is(service('PrivateTmp'), 'yes');
  t.is(value(unit, 'Install', 'WantedBy'), 'multi-user.target');

  const [binary, ...args] = execStartArgs(unit, 'lab');
  t.is(binary, installedBinary);
  const { args: commandArgs, options } = takeGlobalOptions(args);
  t.deepEqual(options, { logFormat: 'json' });
  t.is(commandArgs[0], 'serve');
  const config = parseServeArgs(commandArgs.slice(1), {});
  t.like(config, { backend: 'docker', poolId: 'lab', socket: '/run/warmpool/lab.sock' });
  // The socket is in the runtime directory systemd makes (and PrivateTmp does not hide).
  t.true(config.socket.startsWith('/run/warmpool/'));
  if (!hasSystemdAnalyze) t.log('systemd-analyze is not installed (command -v): the units are checked by parsing only');
});

test('the Docker-only drop-in uses known keys and keeps the service able to reach the engine', async (t) => {
  const dropIn = parseUnit(await readFile(dropInFile, 'utf8'), dropInFile);
  t.deepEqual(unknownKeys(dropIn), []);
  t.deepEqual([...dropIn.keys()], ['Service']);
  t.is(value(dropIn, 'Service', 'Environment'), 'WARMPOOL_BACKEND=docker');
  t.is(value(dropIn, 'Service', 'SupplementaryGroups'), 'docker');
  // One user for every pool: they share /run/warmpool, and a user per pool would take it from the others.
  t.is(value(dropIn, 'Service', 'User'), 'warmpool');
  t.is(value(dropIn, 'Service', 'RuntimeDirectory'), 'warmpool');
  t.true((value(dropIn, 'Service', 'RestrictAddressFamilies') ?? '').split(/\s+/).includes('AF_UNIX'));
});

/** Copies the units to a temporary directory with ExecStart's binary replaced by an executable that exists. */
async function unitsWithRealBinary(withDropIn: boolean): Promise<{ dir: string; instance: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'wp-units-'));
  const binary = join(dir, 'warmpool');
  await writeFile(binary, '#!/bin/sh\nexit 0\n');
  await chmod(binary, 0o755);
  const text = await readFile(unitFile, 'utf8');
  requireText(text, installedBinary);
  await writeFile(join(dir, 'warmpool-serve@.service'), text.replaceAll(installedBinary, binary));
  if (withDropIn) await cp(dropInDir, join(dir, 'warmpool-serve@.service.d'), { recursive: true });
  return { dir, instance: join(dir, 'warmpool-serve@lab.service') };
}

function requireText(text: string, part: string): void {
  if (!text.includes(part)) throw new Error(`the unit no longer runs ${part}; update this test`);
}

if (hasSystemdAnalyze) {
  for (const withDropIn of [false, true]) {
    test(`systemd-analyze verify accepts warmpool-serve@lab.service${withDropIn ? ' with the Docker-only drop-in' : ''}`, async (t) => {
      const { dir, instance } = await unitsWithRealBinary(withDropIn);
      t.teardown(() => rm(dir, { recursive: true, force: true }));
      const result = await execa('systemd-analyze', ['verify', '--man=no', instance], { reject: false, env: { SYSTEMD_LOG_COLOR: '0' } });
      // verify exits 0 for unknown keys and bad values ("…, ignoring"): any complaint about our files fails.
      const complaints = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => line.includes('warmpool-serve') || line.includes(dir));
      t.deepEqual(complaints, [], result.stderr);
      t.is(result.exitCode, 0, result.stderr);
    });
  }

  test('systemd-analyze verify does complain about a broken copy (the check can fail)', async (t) => {
    const { dir, instance } = await unitsWithRealBinary(false);
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'warmpool-serve@.service');
    await writeFile(path, (await readFile(path, 'utf8')).replace(/^KillMode=mixed$/m, 'KillMode=mixd'));
    const result = await execa('systemd-analyze', ['verify', '--man=no', instance], { reject: false });
    t.regex(result.stderr, /kill mode/i);
  });
}
