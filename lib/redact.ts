/**
 * Keeps secrets out of logs: the password in a URL (`redis://:pw@host`), `password=`/`token=` pairs in text, and
 * the values of object keys that name a secret. Applied to every argument a logger is given, so a config or an
 * error message that carries a secret can be logged as it is.
 */

export const redacted = '[redacted]';

/** Keys whose values are secrets: `password`, `redisPassword`, `REDIS_PASSWORD`, `clientSecret`, `accessToken`, `apiKey`, … */
const secretKey = /pass(?:word|wd|phrase)|secret|token|api[-_]?key|private[-_]?key|credential|authorization/i;

export function isSecretKey(key: string): boolean {
  return secretKey.test(key);
}

// scheme://user:PASSWORD@host (user may be empty). The password stops at the last `@` before the host.
const urlPassword = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s/@]*@/gi;
// password=…, ?token=…, REDIS_PASSWORD=…, "secret": … in free text (env dumps, query strings, command lines).
const secretAssignment = /\b([\w.-]*(?:pass(?:word|wd|phrase)|secret|token|api[-_]?key|private[-_]?key|credential)[\w.-]*)(["']?\s*[=:]\s*["']?)[^\s"'&,;}]+/gi;

/** `text` with URL passwords and secret assignments replaced by `[redacted]`. */
export function redactText(text: string): string {
  return text.replace(urlPassword, `$1${redacted}@`).replace(secretAssignment, `$1$2${redacted}`);
}

/** Deepest nesting copied; below it a value is replaced, as it could hide a secret. */
const maxDepth = 8;

/**
 * A copy of `value` with every secret redacted: strings through `redactText`, plain objects and arrays key by key,
 * errors as errors of the same class (message, stack, cause and own fields such as `code` redacted). Other
 * objects (class instances, buffers) are kept as they are: they are not configs. Never mutates `value`.
 */
export function redactValue(value: unknown): unknown {
  return redactAt(value, 0, new WeakSet());
}

function redactAt(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= maxDepth) return '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) return redactError(value, depth, seen);
    if (Array.isArray(value)) return value.map((item) => redactAt(item, depth + 1, seen));
    if (!isPlainObject(value)) return value;
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = isSecretKey(key) && item !== undefined && item !== null && item !== '' ? redacted : redactAt(item, depth + 1, seen);
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}

function redactError(error: Error, depth: number, seen: WeakSet<object>): Error {
  // Same prototype, so `instanceof` and `name` still tell what it was.
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error;
  for (const key of Object.getOwnPropertyNames(error)) {
    const descriptor = Object.getOwnPropertyDescriptor(error, key);
    if (descriptor === undefined || !('value' in descriptor)) continue;
    const item: unknown = descriptor.value;
    const safe = isSecretKey(key) && item !== undefined && item !== null ? redacted : redactAt(item, depth + 1, seen);
    Object.defineProperty(copy, key, { ...descriptor, value: safe });
  }
  return copy;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
