import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { InvalidOptionError, errorMessage } from '../../lib/errors.js';

/** One test job: run `command` in a fresh container, with `files` copied in first and `artifacts` copied out after. */
export interface JobSpec {
  /** Unique within the suite. Any printable text up to 200 characters; its logs go under `jobs/<safe name>/`. */
  readonly name: string;
  /** argv, no shell: `["/bin/sh", "-c", "echo hi"]` for one. */
  readonly command: readonly string[];
  /**
   * The command is killed (with its container) after this long and the job ends `timeout`.
   * An integer number of milliseconds from 1 to 2^31-1.
   * @default 600_000 (10 minutes)
   */
  readonly timeoutMs: number;
  /** Environment of the command. Keys are shell variable names. @default {} */
  readonly env: Readonly<Record<string, string>>;
  /** Files written into the container before the command runs: absolute path → UTF-8 content. @default {} */
  readonly files: Readonly<Record<string, string>>;
  /** Absolute paths read out of the container after the command ends (also after a timeout). @default [] */
  readonly artifacts: readonly string[];
  /** How many more times a `failed` or `error` job runs, each time in a new container. 0 to 10. @default 0 */
  readonly retries: number;
  /**
   * The kind of container the job runs in (a kind of the host's config). Checked against the kinds there are
   * before anything runs. @default the container source's default kind (the config's first)
   */
  readonly kind?: string;
}

export interface Suite {
  readonly name: string;
  readonly jobs: readonly JobSpec[];
}

export const defaultJobTimeoutMs = 600_000;
export const maxRetries = 10;
/** Node fires longer timers at once, so a longer timeout could not be kept. */
const maxTimeoutMs = 2_147_483_647;
const maxNameLength = 200;

const suiteKeys = new Set(['name', 'jobs']);
const jobKeys = new Set(['name', 'command', 'timeoutMs', 'env', 'files', 'artifacts', 'retries', 'kind']);

/**
 * The directory a job's logs and artifacts go to: its name with anything but letters, digits, `.`, `_` and `-`
 * replaced, so a name can never climb out of `jobs/` or collide with a path separator.
 */
export function jobDirectoryName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return /^\.+$/.test(safe) ? safe.replace(/\./g, '_') : safe;
}

/**
 * Checks a parsed suite and fills in the defaults. Throws InvalidOptionError whose `option` names the job
 * (by position and name) and the field, e.g. `jobs[2] "slow" → timeoutMs`, so the first bad field is found
 * before anything is started. Unknown keys are refused too: a typo must not silently drop a timeout.
 */
export function validateSuite(value: unknown): Suite {
  if (!isPlainObject(value)) throw new InvalidOptionError('suite', value, 'an object like { "name": ..., "jobs": [...] }');
  for (const key of Object.keys(value)) {
    if (!suiteKeys.has(key)) throw new InvalidOptionError(`suite → ${key}`, value[key], 'absent: suites have only `name` and `jobs`');
  }
  const name = value['name'];
  if (!isName(name)) throw new InvalidOptionError('suite → name', name, `a non-empty string of printable characters, at most ${maxNameLength}`);
  const jobs = value['jobs'];
  if (!Array.isArray(jobs) || jobs.length === 0) throw new InvalidOptionError('suite → jobs', jobs, 'a non-empty array of jobs');
  const names = new Set<string>();
  const directories = new Map<string, string>();
  const validated = jobs.map((job: unknown, index) => {
    const spec = validateJob(job, index);
    const where = `${jobLabel(index, spec.name)} → name`;
    if (names.has(spec.name)) throw new InvalidOptionError(where, spec.name, 'a name no other job in the suite has');
    const directory = jobDirectoryName(spec.name);
    const clash = directories.get(directory);
    if (clash !== undefined) {
      throw new InvalidOptionError(where, spec.name, `a name whose log directory differs from job ${JSON.stringify(clash)}'s (both are jobs/${directory})`);
    }
    names.add(spec.name);
    directories.set(directory, spec.name);
    return spec;
  });
  return { name, jobs: validated };
}

function validateJob(job: unknown, index: number): JobSpec {
  if (!isPlainObject(job)) throw new InvalidOptionError(`jobs[${index}]`, job, 'a job object with at least `name` and `command`');
  const name = job['name'];
  if (!isName(name)) {
    throw new InvalidOptionError(`jobs[${index}] → name`, name, `a non-empty string of printable characters, at most ${maxNameLength}`);
  }
  const field = (key: string): string => `${jobLabel(index, name)} → ${key}`;
  for (const key of Object.keys(job)) {
    if (!jobKeys.has(key)) throw new InvalidOptionError(field(key), job[key], `absent: a job's fields are ${[...jobKeys].join(', ')}`);
  }

  const command = job['command'];
  if (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === 'string' && !part.includes('\0'))) {
    throw new InvalidOptionError(field('command'), command, 'a non-empty array of strings (argv, no shell)');
  }
  if (command[0] === '') throw new InvalidOptionError(field('command'), command, 'an argv whose first element names a program');

  const timeoutMs = job['timeoutMs'] ?? defaultJobTimeoutMs;
  if (!(Number.isInteger(timeoutMs) && (timeoutMs as number) >= 1 && (timeoutMs as number) <= maxTimeoutMs)) {
    throw new InvalidOptionError(field('timeoutMs'), timeoutMs, `an integer number of milliseconds from 1 to ${maxTimeoutMs}`);
  }

  const env = job['env'] ?? {};
  if (!isPlainObject(env)) throw new InvalidOptionError(field('env'), env, 'an object of variable name → string');
  for (const [key, val] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new InvalidOptionError(field(`env.${key}`), key, 'a variable name (letters, digits, _; not starting with a digit)');
    if (typeof val !== 'string' || val.includes('\0')) throw new InvalidOptionError(field(`env.${key}`), val, 'a string without NUL');
  }

  const files = job['files'] ?? {};
  if (!isPlainObject(files)) throw new InvalidOptionError(field('files'), files, 'an object of absolute path → text content');
  for (const [path, content] of Object.entries(files)) {
    const where = field(`files[${JSON.stringify(path)}]`);
    if (!isFilePath(path)) throw new InvalidOptionError(where, path, 'an absolute file path (starts with /, no trailing /, no NUL)');
    if (typeof content !== 'string') throw new InvalidOptionError(where, content, 'a string (the file content)');
  }

  const artifacts = job['artifacts'] ?? [];
  if (!Array.isArray(artifacts)) throw new InvalidOptionError(field('artifacts'), artifacts, 'an array of absolute file paths');
  const seen = new Set<string>();
  artifacts.forEach((path: unknown, at) => {
    if (!isFilePath(path)) throw new InvalidOptionError(field(`artifacts[${at}]`), path, 'an absolute file path (starts with /, no trailing /, no NUL)');
    // Compared normalized: `/tmp//a` and `/tmp/a` would be saved to the same place.
    const normalized = posix.normalize(path);
    if (seen.has(normalized)) throw new InvalidOptionError(field(`artifacts[${at}]`), path, 'a path not listed twice');
    seen.add(normalized);
  });

  const retries = job['retries'] ?? 0;
  if (!(Number.isInteger(retries) && (retries as number) >= 0 && (retries as number) <= maxRetries)) {
    throw new InvalidOptionError(field('retries'), retries, `an integer from 0 to ${maxRetries}`);
  }

  const kind = job['kind'];
  // Only its shape here: which kinds exist is the container source's to say, once the run knows its source.
  if (kind !== undefined && !isName(kind)) throw new InvalidOptionError(field('kind'), kind, 'a kind name (a non-empty string)');

  return {
    name,
    command: command as string[],
    timeoutMs: timeoutMs as number,
    env: env as Record<string, string>,
    files: files as Record<string, string>,
    artifacts: artifacts as string[],
    retries: retries as number,
    ...(kind === undefined ? {} : { kind }),
  };
}

/** Reads and validates a suite file. A file that cannot be read or parsed throws InvalidOptionError naming it. */
export async function loadSuite(path: string): Promise<Suite> {
  return (await loadSuiteFile(path)).suite;
}

/** A suite and the sha256 of its file's bytes, which a journal keeps so `--resume` can refuse another suite. */
export async function loadSuiteFile(path: string): Promise<{ suite: Suite; sha256: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InvalidOptionError('SUITE', path, `a readable suite file (${errorMessage(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InvalidOptionError('SUITE', path, `a file of valid JSON (${errorMessage(error)})`);
  }
  return { suite: validateSuite(parsed), sha256: sha256Of(bytes) };
}

/** The sha256 of a suite file's bytes, valid or not. Throws InvalidOptionError when it cannot be read. */
export async function suiteFileSha256(path: string): Promise<string> {
  try {
    return sha256Of(await readFile(path));
  } catch (error) {
    throw new InvalidOptionError('SUITE', path, `a readable suite file (${errorMessage(error)})`);
  }
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function jobLabel(index: number, name: string): string {
  return `jobs[${index}] ${JSON.stringify(name)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isName(value: unknown): value is string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what a name must not hold
  return typeof value === 'string' && value.trim() !== '' && value.length <= maxNameLength && !/[\u0000-\u001f\u007f]/.test(value);
}

function isFilePath(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('/') && !value.endsWith('/') && !value.includes('\0');
}
