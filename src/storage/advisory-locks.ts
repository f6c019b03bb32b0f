import type { Queryable } from './db.ts';

/** Keys of the advisory locks; any constants work, as long as every idflow node uses the same. */
export const ADVISORY_LOCKS = {
  migration: 7_301_104,
  importFile: 7_301_105,
  /** One node at a time turns committed events into deliveries (sequence numbers stay in order). */
  notificationFanOut: 7_301_110,
  auditCheckpoint: 7_301_107,
  // 7_301_106 is taken by the database itself, in its two-key form: each audit stream is
  // appended to under pg_advisory_xact_lock(7301106, hashtext(stream)) (migration 016).
} as const;

/**
 * Waits for, then holds until commit or rollback, the lock named `key`: transactions taking
 * the same key run one after the other, on every node (PostgreSQL and PGlite alike).
 */
export async function holdAdvisoryLock(tx: Queryable, key: keyof typeof ADVISORY_LOCKS): Promise<void> {
  await tx.query('select pg_advisory_xact_lock($1)', [ADVISORY_LOCKS[key]]);
}
