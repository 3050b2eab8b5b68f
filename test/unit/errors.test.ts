import test from 'ava';
import { readFileSync } from 'node:fs';
import * as warmpool from '../../lib/index.js';

const errorClasses = Object.entries(warmpool).filter(
  ([name, value]) => typeof value === 'function' && name.endsWith('Error') && value.prototype instanceof warmpool.WarmpoolError,
);

/** Codes are instance fields, so read one off an instance; every constructor accepts string arguments. */
function codeOf(errorClass: unknown): string {
  return new (errorClass as new (...args: unknown[]) => warmpool.WarmpoolError)('x', 'y', 'z').code;
}

test('every error class has a unique, stable code', (t) => {
  t.true(errorClasses.length >= 8);
  const codes = errorClasses.map(([, errorClass]) => codeOf(errorClass));
  t.is(new Set(codes).size, codes.length);
  for (const code of codes) t.regex(code, /^ERR_WARMPOOL_[A-Z_]+$/);
});

test('every error code is documented in the README', (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const [name, errorClass] of errorClasses) {
    t.true(readme.includes(codeOf(errorClass)), `${name}'s code is in the README`);
    t.true(readme.includes(name), `${name} is in the README`);
  }
});

test('errors carry their class name and cause', (t) => {
  const cause = new Error('root');
  const error = new warmpool.ContainerCreationError(cause);
  t.is(error.name, 'ContainerCreationError');
  t.is(error.cause, cause);
  t.true(error instanceof warmpool.WarmpoolError);
});
