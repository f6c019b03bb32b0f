import type { Queryable } from './db.ts';

/** Keys of the advisory locks; any constants work, as long as every idflow node uses the same. */
export const ADVISORY_LOCKS = {
  migration: 7_301_104,
  importFile: 7_301_105,
  /** One node at a time turns committed events into deliveries (sequence numbers stay in order). */
  notificationFanOut: 7_301_110,
} as const;

/**
 * Waits for, then holds until commit or rollback, the lock named `key`: transactions taking
 * the same key run one after the other, on every node (PostgreSQL and PGlite alike).
 */
export async function holdAdvisoryLock(tx: Queryable, key: keyof typeof ADVISORY_LOCKS): Promise<void> {
  await tx.query('select pg_advisory_xact_lock($1)', [ADVISORY_LOCKS[key]]);
}
