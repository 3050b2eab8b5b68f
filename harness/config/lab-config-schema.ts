import { z } from 'zod';
import { reservedLabelPrefix } from '../../lib/backends/docker/docker-labels.js';
import { lxcNamePattern } from '../../lib/backends/lxc/lxc-names.js';
import { defaultReadinessTimeoutMs } from '../../lib/backends/readiness.js';
import { logLevels } from '../../lib/logger.js';
import { serviceDefaults } from '../service/service-config.js';
import { validateSocketPath } from '../service/socket-file.js';

/**
 * The shape of the host config file (`warmpool serve --config lab.json`), as zod schemas. Each leaf carries the
 * "expected …" text of its errors (lab-config.ts adds the path and the value given) and a description, which
 * the JSON Schema export keeps. Only defaults that need nothing but the file are here; the ones that depend on
 * the environment or on other keys (socket, engine endpoints, image, base, max) are filled in by lab-config.ts.
 */

/** Kind names go into pool ids, container names and metric labels, so they are short and plain. */
// Digits only are refused: JSON objects put integer-like keys first, so such a kind would lose its place in the
// file's order, and the first kind is the default one.
export const kindNamePattern = /^(?![0-9]+$)[a-z0-9][a-z0-9_-]{0,15}$/;

/** The same rule as validatePoolId (lib/backends/owner.ts), here so the JSON Schema shows it. */
const poolIdPattern = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

/** Docker refuses less (resolveDockerFactoryOptions checks the same bound). */
const minimumMemoryBytes = 6 * 1024 * 1024;

interface IntegerRules {
  readonly min: number;
  readonly max?: number;
}

function integerText({ min, max }: IntegerRules, infinity: boolean): string {
  // Worded like validateInteger (harness/service/cli-flags.ts), so flags and files read alike.
  return `an integer ${max === undefined ? `from ${min} up` : `from ${min} to ${max}`}${infinity ? ' or "Infinity"' : ''}`;
}

function integer(rules: IntegerRules, description: string) {
  const error = integerText(rules, false);
  const schema = z.int({ error }).min(rules.min, { error });
  return (rules.max === undefined ? schema : schema.max(rules.max, { error })).describe(description);
}

/**
 * An integer or the string "Infinity" (JSON has no infinity). Left as written: lab-config.ts turns "Infinity"
 * into the number, since a transform here would hide the key's default from the JSON Schema.
 */
function integerOrInfinity(rules: IntegerRules, description: string) {
  const error = integerText(rules, true);
  const finite = z.int({ error }).min(rules.min, { error });
  return z
    .union([rules.max === undefined ? finite : finite.max(rules.max, { error }), z.literal('Infinity', { error })], { error })
    .describe(description);
}

function absolutePath(description: string) {
  return z.string({ error: 'an absolute path' }).regex(/^\//, { error: 'an absolute path' }).describe(description);
}

function argv(description: string) {
  const error = 'a non-empty array of strings whose first one is not empty, e.g. ["/bin/sh", "-c", "test -e /ready"]';
  return z
    .array(z.string({ error: 'a string' }), { error })
    .min(1, { error })
    .refine((parts) => parts[0] !== '', { error })
    .describe(description);
}

function stringRecord(keyPattern: RegExp, keyText: string, description: string) {
  return z
    .record(z.string().regex(keyPattern, { error: keyText }), z.string({ error: 'a string' }), {
      error: 'an object of string values',
    })
    .describe(description);
}

const environment = (description: string) =>
  stringRecord(/^[^=\0]+$/, 'an environment variable name (no "=")', description);

const escapedLabelPrefix = reservedLabelPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const hostSchema = z
  .strictObject({
    poolId: z
      .string({ error: 'a pool id' })
      .regex(poolIdPattern, { error: 'a pool id: 1 to 32 lowercase letters, digits, "_", "." or "-", starting with a letter or digit' })
      .default(serviceDefaults.poolId)
      .describe(
        'Names this host\'s pools on the engines; each kind\'s pool id is "<poolId>.<kind>", so keep it short enough ' +
          'for that to fit in 32 characters. Pools on the same engine must not share it.',
      ),
    socket: z
      .string({ error: 'an absolute path for a unix socket' })
      .refine(isSocketPath, { error: 'an absolute path for a unix socket, at most 107 bytes, not ending in "/"' })
      .optional()
      .describe('The unix socket the service listens on. Default: $XDG_RUNTIME_DIR/warmpool/<poolId>.sock, else /tmp/warmpool-<uid>/<poolId>.sock.'),
    metricsPort: integer({ min: 0, max: 65535 }, 'Serve Prometheus metrics on 127.0.0.1 at this port (0: any free port). Default: no metrics.').optional(),
    logLevel: z
      .enum(logLevels, { error: `one of ${logLevels.map((level) => JSON.stringify(level)).join(', ')}` })
      .default(serviceDefaults.logLevel)
      .describe('The service log\'s level.'),
    maxCreations: integer({ min: 1 }, 'Container creations in flight at once, all kinds together.').default(5),
    maxContainers: integer({ min: 1 }, 'Containers at once, ready and held, all kinds together. The kinds\' min must fit in it.').default(40),
    shutdownTimeoutMs: integer({ min: 0 }, 'At shutdown, how long to wait for creations to wind down and removals to succeed (ms).').default(
      serviceDefaults.shutdownTimeoutMs,
    ),
    maxConnections: integer({ min: 1 }, 'Client connections at once.').default(serviceDefaults.maxConnections),
    maxWaitingGets: integer({ min: 1 }, 'Checkouts waiting for a container at once, all clients together.').default(serviceDefaults.maxWaitingGets),
    maxUnreadBytes: integer({ min: 1024 }, 'Bytes of one client\'s requests read ahead of their answers before reading pauses.').default(
      serviceDefaults.maxUnreadBytes,
    ),
    lineTimeoutMs: integerOrInfinity({ min: 1 }, 'How long a client may take to finish a request line (ms).').default(serviceDefaults.lineTimeoutMs),
    maxLineBytes: integer({ min: 64 }, 'The longest request line a client may send (bytes).').default(serviceDefaults.maxLineBytes),
    dockerSocket: absolutePath('The Docker engine\'s unix socket. Default: DOCKER_HOST, else the engines file, else /var/run/docker.sock.').optional(),
    lxcPath: absolutePath('The lxcpath holding the LXC bases and the clones. Default: WARMPOOL_LXC_PATH, else the engines file.').optional(),
  }, { error: 'an object of host settings' })
  .describe('The service: where it listens, its limits, the engines, and the host-wide bounds shared by all kinds.');

/** Keys both backends' kinds have. */
const commonKindShape = {
  env: environment('Environment of the commands run in the containers.').default({}),
  readinessCommand: argv('Run in a new container until it exits 0; the container is ready then. Default: none (a running container is ready).').optional(),
  readinessTimeoutMs: integerOrInfinity({ min: 1 }, 'How long the readiness command may take to succeed before the creation fails (ms).').default(
    defaultReadinessTimeoutMs,
  ),
  creationTimeoutMs: integerOrInfinity({ min: 1 }, 'How long one creation may take before it is cancelled (ms).').default(serviceDefaults.creationTimeoutMs),
  maxErrorsPerHour: integerOrInfinity({ min: 1 }, 'When this many creations failed within the last hour, creations pause.').default(
    serviceDefaults.maxErrorsPerHour,
  ),
  min: integer({ min: 0 }, 'Containers kept ready even when nobody asks for them.').default(1),
  max: integer({ min: 1 }, 'Most containers of this kind ready at once. Default: the larger of min and 4.').optional(),
  idleTtlMs: integerOrInfinity({ min: 1 }, 'A ready container above min that nobody took for this long is removed (ms).').default(300_000),
  maxAgeMs: integer({ min: 1 }, 'A ready container older than this is replaced (ms). Default: no age limit.').optional(),
  pauseIdle: z.boolean({ error: 'true or false' }).default(false).describe('Freeze ready containers while they wait (docker pause, lxc-freeze).'),
};

export const dockerKindSchema = z
  .strictObject({
    backend: z.literal('docker').describe('The engine that runs this kind.'),
    image: z
      .string({ error: 'an image reference such as "busybox:latest"' })
      .regex(/^\S+$/, { error: 'an image reference such as "busybox:latest"' })
      .optional()
      .describe('The image the containers run. Default: WARMPOOL_DOCKER_IMAGE, else the engines file.'),
    command: argv('The containers\' main process. Default: warmpool\'s agent, through which jobs start without an engine exec.').optional(),
    labels: stringRecord(
      new RegExp(`^(?!${escapedLabelPrefix}).+$`),
      `a label name not starting with "${reservedLabelPrefix}"`,
      `Extra labels on the containers; names starting with "${reservedLabelPrefix}" are warmpool's own.`,
    ).default({}),
    memoryBytes: integer({ min: minimumMemoryBytes }, 'Memory limit per container (bytes; Docker\'s minimum is 6 MiB). Default: none.').optional(),
    cpus: z
      .number({ error: 'a number of CPUs from 0.001 up' })
      .min(0.001, { error: 'a number of CPUs from 0.001 up' })
      .optional()
      .describe('CPU limit per container (0.5 is half a CPU). Default: none.'),
    network: z
      .string({ error: 'a non-empty string such as "none"' })
      .min(1, { error: 'a non-empty string such as "none"' })
      .default('none')
      .describe('Docker network mode. Keep "none" unless the lab needs a network.'),
    ...commonKindShape,
  })
  .describe('A kind whose containers Docker runs.');

export const lxcKindSchema = z
  .strictObject({
    backend: z.literal('lxc').describe('The engine that runs this kind.'),
    base: z
      .string({ error: 'an LXC container name' })
      .regex(lxcNamePattern, { error: 'an LXC container name' })
      .optional()
      .describe('The stopped LXC container the clones are copied from. Default: WARMPOOL_LXC_BASE, else the engines file.'),
    ...commonKindShape,
  })
  .describe('A kind whose containers are LXC clones of a base.');

export const kindSchema = z.discriminatedUnion('backend', [dockerKindSchema, lxcKindSchema], {
  error: (issue) => (issue.code === 'invalid_union' ? '"docker" or "lxc"' : 'an object with a "backend" key'),
});

export const labFileSchema = z
  .strictObject({
    // Lets editors find the JSON Schema; warmpool ignores it.
    $schema: z.string({ error: 'a string' }).optional().describe('The JSON Schema of this file, for editors. Ignored by warmpool.'),
    host: hostSchema.prefault({}),
    kinds: z
      .record(
        z.string().regex(kindNamePattern, {
          error: 'a kind name: 1 to 16 lowercase letters, digits, "_" or "-", starting with a letter or digit, not digits only',
        }),
        kindSchema,
        { error: 'an object of kinds, e.g. {"py311": {"backend": "docker"}}' },
      )
      .refine((kinds) => Object.keys(kinds).length > 0, { error: 'at least one kind' })
      .meta({
        minProperties: 1,
        description: 'The kinds of container the service keeps ready, by name. The first one is the default kind.',
      }),
  }, { error: 'an object with "kinds" (and optionally "host"), e.g. {"kinds": {"py311": {"backend": "docker"}}}' })
  .meta({ title: 'warmpool host config', description: 'The config file of `warmpool serve --config`.' });

export type LabFile = z.output<typeof labFileSchema>;

function isSocketPath(path: string): boolean {
  try {
    validateSocketPath(path);
    return true;
  } catch {
    return false;
  }
}

/** The JSON Schema (draft 2020-12) of the file as written: defaults shown, "Infinity" allowed where it is. */
export function labConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(labFileSchema, { io: 'input', target: 'draft-2020-12' });
}
