// A pool service whose pool holds instant, in-memory containers: what `client.get()` costs over the socket when
// the engine is not in the way. Run as a child process by checkout-samples.ts:
//   node --import tsx harness/bench/instant-service.ts SOCKET SIZE
// It prints "ready" once it listens, and shuts down on SIGTERM.
import { Pool } from '../../lib/pool.js';
import { PoolService } from '../service/pool-service.js';
import { InstantFactory } from './instant-factory.js';

const [socketPath, sizeText] = process.argv.slice(2);
if (socketPath === undefined || sizeText === undefined) throw new Error('usage: instant-service.ts SOCKET SIZE');
const pool = new Pool(new InstantFactory(), { size: Number(sizeText), maxWorkers: 5, maxErrorsPerHour: Infinity });
const service = new PoolService({
  pool,
  backend: 'docker',
  poolId: `bench-instant-${process.pid}`,
  socketPath,
  // The client opens a Docker handle for the descriptor, which makes no engine call; nothing here reaches an engine.
  describe: (container) => ({ backend: 'docker', id: container.id, name: container.name }),
});
await service.listen();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void service.shutdown().then(() => process.exit(0), () => process.exit(1));
});
