import { createHash } from 'node:crypto';
import type { HashedFields } from '../storage/audit-log-repo.ts';

/**
 * The hash chain of the audit log, as `idflow audit verify` recomputes it. The database
 * computes the same (`audit_hash` in src/storage/migrations/016_audit_log.sql) when it
 * appends; the two must stay in step. docs/audit.md is their description.
 */

/** The `prev_hash` of a stream's first entry. */
export const GENESIS = Buffer.alloc(32);

/** One field: its length in UTF-8 bytes, a colon and its value; `-` when absent. */
function field(value: string | null): string {
  return `${value === null ? '-' : `${Buffer.byteLength(value)}:${value}`}\n`;
}

/** SHA-256 over the previous entry's hash and this entry's fields, in a fixed order. */
export function entryHash(prev: Buffer, e: HashedFields): Buffer {
  const text =
    'idflow-audit/1\n' +
    [e.stream, e.seq, e.atMicros, e.action, e.clientId, e.userId, e.flowId, e.subject, e.eventId, e.payloadDigest, e.columns].map(field).join('');
  return createHash('sha256').update(prev).update(text, 'utf8').digest();
}
