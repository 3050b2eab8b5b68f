import { exitCodes, type CliIo } from './command.js';
import { ServiceRequestError, ServiceUnavailableError } from '../service/service-errors.js';
import { PoolClient } from '../client/pool-client.js';

/**
 * Runs one CLI command against the service: connects, runs `action`, closes. A service that cannot be reached
 * (or goes away mid-request) is exit code 3; a request the service refused is exit code 1; both with a message
 * on stderr instead of a stack trace.
 */
export async function withClient(command: string, socketPath: string, io: CliIo, action: (client: PoolClient) => Promise<number>): Promise<number> {
  let client: PoolClient;
  try {
    client = await PoolClient.connect({ socketPath });
  } catch (error) {
    if (!(error instanceof ServiceUnavailableError)) throw error;
    io.stderr.write(`warmpool ${command}: ${error.message}\n`);
    return exitCodes.unavailable;
  }
  try {
    return await action(client);
  } catch (error) {
    if (error instanceof ServiceUnavailableError) {
      io.stderr.write(`warmpool ${command}: ${error.message}\n`);
      return exitCodes.unavailable;
    }
    if (error instanceof ServiceRequestError) {
      io.stderr.write(`warmpool ${command}: the service refused: ${error.message} (${error.code})\n`);
      return exitCodes.failure;
    }
    throw error;
  } finally {
    await client.close();
  }
}
