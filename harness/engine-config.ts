import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the container engines are. `fixtures/engines/ensure-engines.sh` writes `.engines/engines.env` (KEY=VALUE
 * lines) at the package root; the environment overrides it key by key, so an operator or a developer can point
 * the CLI at another engine. The CLI reads it here, in harness/, so shipped code never depends on the fixtures.
 */
export interface EngineConfig {
  /** Docker engine socket path (not a URL). */
  readonly dockerSocket: string;
  /** The image Docker containers run. */
  readonly dockerImage: string;
  /** The lxcpath holding the LXC base container and the pool's clones. */
  readonly lxcPath: string;
  /** The LXC base container that pools clone. */
  readonly lxcBase: string;
  /**
   * The lab's Redis (`redis://:PASSWORD@host:port`, from WARMPOOL_REDIS_URL): absent when none was recorded. It
   * carries a password: never log it or write it anywhere but where it came from (see lib/redact.ts).
   */
  readonly redisUrl?: string;
}

/** The package.json `name` that marks the package root. */
const packageName = 'warmpool';

/**
 * The nearest directory at or above `start` whose package.json is named `warmpool`, or undefined. Walking up
 * (rather than a fixed `../..`) finds the same root from `harness/` under tsx and from `dist/harness/` when built.
 */
export function findPackageRoot(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (readPackageName(join(dir, 'package.json')) === packageName) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

function readPackageName(path: string): unknown {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined;
  }
}

/**
 * The package root of this copy of warmpool (no trailing slash). Falls back to the working directory if the
 * module was moved out of its package (a bundle), so the defaults below still name some directory.
 */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url))) ?? process.cwd();

/** `WARMPOOL_ENGINES_ENV` if set (relative to the working directory), else `<package root>/.engines/engines.env`. */
export function enginesEnvPath(env: NodeJS.ProcessEnv = process.env, root: string = packageRoot): string {
  const given = env['WARMPOOL_ENGINES_ENV'];
  return given !== undefined && given !== '' ? resolve(given) : join(root, '.engines', 'engines.env');
}

/** KEY=VALUE lines; a missing or unreadable file is no file (the defaults apply). */
export function readEnvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) values[match[1]] = match[2];
  }
  return values;
}

/** The engines to use: the environment, else the engines file, else the standard places. */
export function loadEngineConfig(options: { env?: NodeJS.ProcessEnv; root?: string } = {}): EngineConfig {
  const env = options.env ?? process.env;
  const root = options.root ?? packageRoot;
  const file = readEnvFile(enginesEnvPath(env, root));
  const get = (key: string, fallback: string): string => env[key] ?? file[key] ?? fallback;
  const dockerHost = get('DOCKER_HOST', 'unix:///var/run/docker.sock');
  const redisUrl = get('WARMPOOL_REDIS_URL', '');
  return {
    dockerSocket: dockerHost.replace(/^unix:\/\//, ''),
    dockerImage: get('WARMPOOL_DOCKER_IMAGE', 'warmpool/busybox:latest'),
    lxcPath: get('WARMPOOL_LXC_PATH', join(root, '.engines', 'lxc')),
    lxcBase: get('WARMPOOL_LXC_BASE', 'base-busybox'),
    ...(redisUrl === '' ? {} : { redisUrl }),
  };
}
