import type { Pool, PoolEvents } from '../../lib/index.js';
import { settle } from '../../fixtures/fake-clock.js';
import type { FakeContainer } from '../../fixtures/fake-factory.js';

/** Lets the refill that a death schedules (next turn of the event loop) and the creations it starts run. */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await settle();
}

/** Every `name` event the pool emits from now on, in order. */
export function record<E extends keyof PoolEvents>(pool: Pool<FakeContainer>, name: E): PoolEvents[E][] {
  const seen: PoolEvents[E][] = [];
  pool.on(name, (event) => seen.push(event));
  return seen;
}

/** Checks out every ready container, without waiting. */
export async function takeAll(pool: Pool<FakeContainer>): Promise<FakeContainer[]> {
  const taken: FakeContainer[] = [];
  for (let container = await pool.get(); container !== null; container = await pool.get()) taken.push(container);
  return taken;
}
