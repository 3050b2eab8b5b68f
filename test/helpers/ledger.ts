import type { ExecutionContext } from 'ava';
import type { Container } from '../../lib/container.js';
import type { FakeFactory } from '../../fixtures/fake-factory.js';

/** Asserts the factory's ledger balances: created = destroyed + checked out, nothing twice. */
export function assertNothingLost(t: ExecutionContext, factory: FakeFactory, checkedOut: readonly (Container | null)[] = []): void {
  const out = checkedOut.filter((container): container is Container => container !== null);
  t.deepEqual(factory.ledger.problems(out), [], 'the factory ledger must balance');
}
