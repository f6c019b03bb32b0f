import { userIdFromUuid, userUuid } from '../kernel/ids.ts';
import type { Cte, Queryable, RowsOf } from './db.ts';
import { ListingFilter } from './listing-filter.ts';

export interface NewEvent {
  type: string;
  clientId?: string | undefined;
  userId?: string | undefined;
  flowId?: string | undefined;
  /** Never personal data: ids, states, reason codes. */
  payload?: Record<string, unknown>;
}

export interface EventRecord extends Required<Pick<NewEvent, 'type'>> {
  id: number;
  clientId: string | undefined;
  userId: string | undefined;
  flowId: string | undefined;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** What an operator lists events by; every field narrows. */
export interface EventFilter {
  clientId?: string | undefined;
  userId?: string | undefined;
  /** Exact type, or a prefix ending in `.` (`one_click.`): the kind of flow. */
  type?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Events older than this id (the cursor of the previous page). */
  beforeId?: number | undefined;
}

interface EventRow {
  id: number;
  type: string;
  client_id: string | null;
  user_id: string | null;
  flow_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

const EVENT_COLUMNS = 'type, client_id, user_id, flow_id, payload, created_at';

function eventValues(event: NewEvent, now: Date): unknown[] {
  return [event.type, event.clientId ?? null, event.userId ? (userUuid(event.userId) ?? null) : null, event.flowId ?? null, JSON.stringify(event.payload ?? {}), now];
}

/** The columns of the host statement's rows an event takes its flow, client and user from (none: null). */
export type EventRows = Pick<RowsOf, 'cte'> & Partial<Pick<RowsOf, 'flowId' | 'clientId' | 'userId'>>;

/**
 * The event of a write another statement makes: one event per row of `rows` (none when
 * the write did nothing), its flow, client and user taken from those rows. Without `now`,
 * the database's clock dates it (for writes the database dates too).
 */
export function eventOfRows(rows: EventRows, event: { type: string; payload?: Record<string, unknown> }, now: Date | undefined, firstParam: number): Cte {
  const at = (column: string | undefined, type: 'text' | 'uuid') => (column ? `${rows.cte}.${column}` : `null::${type}`);
  return {
    sql: `event as (insert into events (${EVENT_COLUMNS})
      select $${firstParam}::text, ${at(rows.clientId, 'text')}, ${at(rows.userId, 'uuid')}, ${at(rows.flowId, 'uuid')}, $${firstParam + 1}::jsonb, coalesce($${firstParam + 2}::timestamptz, now()) from ${rows.cte})`,
    params: [event.type, JSON.stringify(event.payload ?? {}), now ?? null],
  };
}

export class EventsRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async record(event: NewEvent, now: Date): Promise<void> {
    await this.#db.query(`insert into events (${EVENT_COLUMNS}) values ($1, $2, $3, $4, $5, $6)`, eventValues(event, now));
  }

  async listForFlow(flowId: string): Promise<EventRecord[]> {
    const rows = await this.#db.query<EventRow>('select * from events where flow_id = $1 order by id', [flowId]);
    return rows.map(toEvent);
  }

  /** Newest first. */
  async list(filter: EventFilter, limit: number): Promise<EventRecord[]> {
    const where = new ListingFilter()
      .equals('client_id', filter.clientId)
      .user('user_id', filter.userId)
      .name('type', filter.type)
      .period('created_at', filter.since, filter.until)
      .before(filter.beforeId);
    if (where.matchesNothing) return [];
    return (await this.#db.query<EventRow>(`select * from events ${where.whereAndLimit(limit)}`, where.params)).map(toEvent);
  }
}

function toEvent(r: EventRow): EventRecord {
  return {
    id: Number(r.id),
    type: r.type,
    clientId: r.client_id ?? undefined,
    userId: r.user_id ? userIdFromUuid(r.user_id) : undefined,
    flowId: r.flow_id ?? undefined,
    payload: r.payload,
    createdAt: r.created_at,
  };
}
