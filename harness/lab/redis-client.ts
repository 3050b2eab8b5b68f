import { Redis } from 'ioredis';
import { errorMessage } from '../../lib/errors.js';
import { redactText } from '../../lib/redact.js';
import { RedisUnavailableError } from './lab-errors.js';
import { connectionOptions, redactedUrl } from './redis-url.js';

/**
 * Checks once that the lab's Redis answers (and takes the password), failing fast: a command run against a Redis
 * that is not there must say so and exit 3, not wait for ever as the long-lived connections do.
 * @throws RedisUnavailableError, its message holding the URL without its password
 */
export async function probeRedis(url: string, timeoutMs = 5_000): Promise<void> {
  const client = new Redis({
    ...connectionOptions(url, 'warmpool-probe'),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  // An unheard 'error' event would be thrown; the connect() below reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new RedisUnavailableError(`Redis at ${redactedUrl(url)} does not answer: ${redactText(errorMessage(error))}`);
  } finally {
    client.disconnect();
  }
}

/**
 * A long-lived connection: it reconnects for ever and its commands wait through a reconnect. Its errors go to
 * `onError` (redacted), once per outage, never thrown.
 */
export function labRedis(url: string, name: string, onError: (message: string) => void): Redis {
  const client = new Redis(connectionOptions(url, name));
  let down = false;
  client.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    onError(`Redis connection ${name} lost (${redactText(errorMessage(error))}); reconnecting`);
  });
  client.on('ready', () => {
    if (down) onError(`Redis connection ${name} is back`);
    down = false;
  });
  return client;
}
