import { userIdFromUuid } from '../kernel/ids.ts';
import type { Queryable } from './db.ts';
import { ListingFilter } from './listing-filter.ts';

/**
 * The audit log (migration 016): the database appends to it, from triggers, in the
 * transaction of each change; this repository only reads it. Nothing here can change it.
 */

/** An entry as listed to an operator. */
export interface AuditEntry {
  id: number;
  stream: string;
  seq: number;
  at: Date;
  action: string;
  clientId: string | undefined;
  userId: string | undefined;
  flowId: string | undefined;
  subject: string | undefined;
  eventId: number | undefined;
  /** Hex SHA-256 of the event's payload. */
  payloadDigest: string | undefined;
  /** Names of the columns an update changed. */
  columns: string[] | undefined;
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  stream?: string | undefined;
  clientId?: string | undefined;
  userId?: string | undefined;
  /** Exact action, or a prefix ending in `.` (`one_click.`). */
  action?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Entries older than this id (the cursor of the previous page). */
  beforeId?: number | undefined;
}

/** An entry's fields as the chain hashes them (src/audit/chain.ts): text, or null when absent. */
export interface HashedFields {
  stream: string;
  seq: string;
  /** Microseconds since the Unix epoch. */
  atMicros: string;
  action: string;
  clientId: string | null;
  /** The bare uuid. */
  userId: string | null;
  flowId: string | null;
  subject: string | null;
  eventId: string | null;
  /** Hex of the SHA-256 of the event's payload. */
  payloadDigest: string | null;
  /** The names of the columns an update changed, comma-separated. */
  columns: string | null;
}

/** An entry as stored, for verification. */
export interface StoredEntry extends HashedFields {
  prevHash: Buffer;
  hash: Buffer;
  /** The event the entry names, as it is now, hashed the same way; null when there is none. */
  event: { action: string; clientId: string | null; userId: string | null; flowId: string | null; atMicros: string; payloadDigest: string } | null;
}

export interface StreamHead {
  stream: string;
  seq: number;
  hash: string;
}

interface ListRow {
  id: number;
  stream: string;
  seq: number;
  at: Date;
  action: string;
  client_id: string | null;
  user_id: string | null;
  flow_id: string | null;
  subject: string | null;
  event_id: number | null;
  payload_digest: string | null;
  columns: string[] | null;
  prev_hash: string;
  hash: string;
}

const MICROS = (column: string) => `((extract(epoch from ${column}) * 1000000)::bigint)::text`;

export class AuditLogRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /** Newest first. */
  async list(filter: AuditFilter, limit: number): Promise<AuditEntry[]> {
    const where = new ListingFilter()
      .equals('stream', filter.stream)
      .equals('client_id', filter.clientId)
      .user('user_id', filter.userId)
      .name('action', filter.action)
      .period('at', filter.since, filter.until)
      .before(filter.beforeId);
    if (where.matchesNothing) return [];
    const rows = await this.#db.query<ListRow>(
      `select id, stream, seq, at, action, client_id, user_id, flow_id, subject, event_id, encode(payload_digest, 'hex') as payload_digest,
         columns, encode(prev_hash, 'hex') as prev_hash, encode(hash, 'hex') as hash
       from audit_log ${where.whereAndLimit(limit)}`,
      where.params,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      stream: r.stream,
      seq: Number(r.seq),
      at: r.at,
      action: r.action,
      clientId: r.client_id ?? undefined,
      userId: r.user_id ? userIdFromUuid(r.user_id) : undefined,
      flowId: r.flow_id ?? undefined,
      subject: r.subject ?? undefined,
      eventId: r.event_id === null ? undefined : Number(r.event_id),
      payloadDigest: r.payload_digest ?? undefined,
      columns: r.columns ?? undefined,
      prevHash: r.prev_hash,
      hash: r.hash,
    }));
  }

  /**
   * Entries in stream and position order, after `after` (keyset paging), with their event
   * as it is now: what verification walks.
   */
  async page(after: { stream: string; seq: string } | undefined, limit: number): Promise<StoredEntry[]> {
    const rows = await this.#db.query<{
      stream: string; seq: string; at_micros: string; action: string; client_id: string | null; user_id: string | null; flow_id: string | null;
      subject: string | null; event_id: string | null; payload_digest: string | null; columns: string | null; prev_hash: Buffer | Uint8Array; hash: Buffer | Uint8Array;
      e_type: string | null; e_client_id: string | null; e_user_id: string | null; e_flow_id: string | null; e_at_micros: string | null; e_payload_digest: string | null;
    }>(
      `select a.stream, a.seq::text as seq, ${MICROS('a.at')} as at_micros, a.action, a.client_id, a.user_id::text as user_id, a.flow_id::text as flow_id,
         a.subject, a.event_id::text as event_id, encode(a.payload_digest, 'hex') as payload_digest, array_to_string(a.columns, ',') as columns,
         a.prev_hash, a.hash,
         e.type as e_type, e.client_id as e_client_id, e.user_id::text as e_user_id, e.flow_id::text as e_flow_id, ${MICROS('e.created_at')} as e_at_micros,
         encode(sha256(convert_to(e.payload::text, 'UTF8')), 'hex') as e_payload_digest
       from audit_log a left join events e on e.id = a.event_id
       where ($1::text is null or (a.stream, a.seq) > ($1::text, $2::bigint))
       order by a.stream, a.seq limit $3`,
      [after?.stream ?? null, after?.seq ?? null, limit],
    );
    return rows.map((r) => ({
      stream: r.stream,
      seq: r.seq,
      atMicros: r.at_micros,
      action: r.action,
      clientId: r.client_id,
      userId: r.user_id,
      flowId: r.flow_id,
      subject: r.subject,
      eventId: r.event_id,
      payloadDigest: r.payload_digest,
      columns: r.columns,
      prevHash: Buffer.from(r.prev_hash),
      hash: Buffer.from(r.hash),
      event:
        r.e_type === null
          ? null
          : { action: r.e_type, clientId: r.e_client_id, userId: r.e_user_id, flowId: r.e_flow_id, atMicros: r.e_at_micros!, payloadDigest: r.e_payload_digest! },
    }));
  }

  /** Events written since the log began (migration 016) that no entry names, with the stream they belong to. */
  async eventsWithoutEntry(): Promise<{ eventId: string; stream: string }[]> {
    return this.#db.query(
      `select e.id::text as "eventId", audit_stream(e.client_id, coalesce(e.flow_id, e.user_id)) as stream
       from events e left join audit_log a on a.event_id = e.id
       where a.event_id is null and e.id >= (select min(event_id) from audit_log)
       order by e.id`,
    );
  }

  /** Events named by more than one entry. */
  async eventsNamedTwice(): Promise<{ eventId: string; entries: { stream: string; seq: string }[] }[]> {
    return this.#db.query(
      `select event_id::text as "eventId", json_agg(json_build_object('stream', stream, 'seq', seq::text) order by stream, seq) as entries
       from audit_log where event_id is not null group by event_id having count(*) > 1 order by event_id`,
    );
  }

  /** The last entry of every stream, in one snapshot (a skip scan over the primary key). */
  async heads(): Promise<StreamHead[]> {
    const rows = await this.#db.query<{ stream: string; seq: number; hash: string }>(
      `with recursive streams as (
         (select stream from audit_log order by stream limit 1)
         union all
         select (select l.stream from audit_log l where l.stream > s.stream order by l.stream limit 1) from streams s where s.stream is not null
       )
       select s.stream, h.seq, encode(h.hash, 'hex') as hash from streams s
       cross join lateral (select seq, hash from audit_log l where l.stream = s.stream order by seq desc limit 1) h
       where s.stream is not null order by s.stream`,
    );
    return rows.map((r) => ({ stream: r.stream, seq: Number(r.seq), hash: r.hash }));
  }

  /** The newest checkpoint event's payload and when it was written (the type is written out, so its index serves). */
  async latestCheckpoint(): Promise<{ payload: Record<string, unknown>; createdAt: Date } | undefined> {
    const [row] = await this.#db.query<{ payload: Record<string, unknown>; created_at: Date }>(
      "select payload, created_at from events where type = 'audit.checkpoint' order by id desc limit 1",
    );
    return row && { payload: row.payload, createdAt: row.created_at };
  }
}
