import { userIdFromUuid, userUuid } from '../kernel/ids.ts';
import { followingCte, type Cte, type CteOf, type Queryable, type RowsOf } from './db.ts';
import { eventOfRows } from './events-repo.ts';
import type { Sealer } from './sealer.ts';

export interface FlowRecord<Data = Record<string, unknown>> {
  id: string;
  kind: string;
  state: string;
  clientId: string | undefined;
  userId: string | undefined;
  /** Personal data of the flow; sealed at rest. */
  data: Data;
  /** What is not personal (settings, reason codes, counters by name). */
  context: Record<string, unknown>;
  attempts: number;
  /** SHA-256 of the secret held by the browser the flow is bound to, if it is bound. */
  browserHash: string | undefined;
  version: number;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export interface FlowChanges<Data> {
  state?: string;
  userId?: string | undefined;
  data?: Data;
  context?: Record<string, unknown>;
  attempts?: number;
  browserHash?: string;
  expiresAt?: Date;
}

interface Row {
  id: string;
  kind: string;
  state: string;
  client_id: string | null;
  user_id: string | null;
  data_sealed: string | null;
  context: Record<string, unknown>;
  attempts: number;
  browser_hash: string | null;
  version: number;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
}

/** What a flow's event says; its flow, client and user are the flow's. */
export interface FlowEvent {
  type: string;
  payload?: Record<string, unknown>;
}

const FLOW_ROWS: RowsOf = { cte: 'flow', flowId: 'id', clientId: 'client_id', userId: 'user_id' };

export class FlowsRepo {
  readonly #db: Queryable;
  readonly #sealer: Sealer;

  constructor(db: Queryable, sealer: Sealer) {
    this.#db = db;
    this.#sealer = sealer;
  }

  async insert<Data>(flow: {
    id: string;
    kind: string;
    state: string;
    clientId?: string | undefined;
    userId?: string | undefined;
    subjectIndex?: string | undefined;
    data: Data;
    context: Record<string, unknown>;
    browserHash?: string | undefined;
    expiresAt: Date;
    now: Date;
  }, event: FlowEvent, also?: CteOf): Promise<FlowRecord<Data>> {
    const recorded = eventOfRows(FLOW_ROWS, event, flow.now, 12);
    const more = followingCte(also?.(FLOW_ROWS, 12 + recorded.params.length));
    const [row] = await this.#db.query<Row>(
      `with flow as (
         insert into flows (id, kind, state, client_id, user_id, subject_index, data_sealed, context, expires_at, created_at, updated_at, browser_hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) returning *
       ), ${recorded.sql}${more.sql}
       select * from flow`,
      [
        flow.id,
        flow.kind,
        flow.state,
        flow.clientId ?? null,
        flow.userId ? userUuid(flow.userId) : null,
        flow.subjectIndex ?? null,
        this.#sealer.keyring.sealJson(flow.data, `flows.data:${flow.id}`),
        JSON.stringify(flow.context),
        flow.expiresAt,
        flow.now,
        flow.browserHash ?? null,
        ...recorded.params,
        ...more.params,
      ],
    );
    // The data was just sealed from `flow.data`: no need to open it again.
    return this.#toRecord<Data>(row!, flow.data);
  }

  async findById<Data>(id: string, kind: string): Promise<FlowRecord<Data> | undefined> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined;
    const [row] = await this.#db.query<Row>('select * from flows where id = $1 and kind = $2', [id, kind]);
    return row ? this.#toRecord<Data>(row) : undefined;
  }

  /** Flows of a kind for the same subject (e.g. a phone's blind index) that are still open. */
  async findOpenBySubject(kind: string, subjectIndex: string, openStates: string[], now: Date): Promise<FlowRecord[]> {
    const rows = await this.#db.query<Row>(
      'select * from flows where kind = $1 and subject_index = $2 and state = any($3) and expires_at > $4 order by created_at',
      [kind, subjectIndex, openStates, now],
    );
    return rows.map((r) => this.#toRecord(r));
  }

  /**
   * Applies changes only if nobody changed the flow since it was read (optimistic
   * concurrency on `version`); undefined means someone else won. The event, when given,
   * is recorded in the same statement, and only if the change was made.
   */
  async update<Data>(flow: FlowRecord<Data>, changes: FlowChanges<Data>, now: Date, event?: FlowEvent): Promise<FlowRecord<Data> | undefined> {
    const recorded = followingCte(event && eventOfRows(FLOW_ROWS, event, now, 11));
    const [row] = await this.#db.query<Row>(
      `with flow as (
         update flows set state = $3, user_id = $4, data_sealed = $5, context = $6, attempts = $7, expires_at = $8,
           version = version + 1, updated_at = $9, browser_hash = $10
         where id = $1 and version = $2 returning *
       )${recorded.sql}
       select * from flow`,
      [
        flow.id,
        flow.version,
        changes.state ?? flow.state,
        (changes.userId ?? flow.userId) ? userUuid((changes.userId ?? flow.userId)!) : null,
        this.#sealer.keyring.sealJson(changes.data ?? flow.data, `flows.data:${flow.id}`),
        JSON.stringify(changes.context ?? flow.context),
        changes.attempts ?? flow.attempts,
        changes.expiresAt ?? flow.expiresAt,
        now,
        changes.browserHash ?? flow.browserHash ?? null,
        ...recorded.params,
      ],
    );
    return row ? this.#toRecord<Data>(row, changes.data ?? flow.data) : undefined;
  }

  /**
   * Moves the flow whose id `rows` returns from `from` to `to`, with its event, as part of
   * another repository's statement; nothing happens when that flow is not in `from`.
   */
  advanceOf(rows: Pick<RowsOf, 'cte' | 'flowId'>, move: { kind: string; from: string; to: string; expiresAt?: Date | undefined; event: FlowEvent; now: Date }, firstParam: number): Cte {
    const p = (i: number) => `$${firstParam + i}`;
    const recorded = eventOfRows(FLOW_ROWS, move.event, move.now, firstParam + 5);
    return {
      sql: `flow as (
        update flows set state = ${p(2)}, expires_at = coalesce(${p(3)}::timestamptz, expires_at), version = version + 1, updated_at = ${p(4)}
        where id in (select ${rows.flowId} from ${rows.cte}) and kind = ${p(0)} and state = ${p(1)} returning *
      ), ${recorded.sql}`,
      params: [move.kind, move.from, move.to, move.expiresAt ?? null, move.now, ...recorded.params],
    };
  }

  /** Flows of a kind that expired by `now` (id and context only: their data is not opened), soonest first. */
  async expiredOfKind(kind: string, now: Date, limit: number): Promise<{ id: string; context: Record<string, unknown> }[]> {
    return this.#db.query<{ id: string; context: Record<string, unknown> }>('select id, context from flows where kind = $1 and expires_at <= $2 order by expires_at limit $3', [kind, now, limit]);
  }

  async delete(id: string): Promise<void> {
    await this.#db.query('delete from flows where id = $1', [id]);
  }

  /** Deletes flows that expired before `before`; returns how many. */
  async purgeExpired(before: Date): Promise<number> {
    return (await this.#db.query('delete from flows where expires_at <= $1 returning 1', [before])).length;
  }

  /**
   * `data`, when the caller has it in clear already (it just wrote it), spares opening the
   * sealed column; the record then holds the caller's own object (flow data is plain JSON).
   */
  #toRecord<Data>(row: Row, data?: Data): FlowRecord<Data> {
    return {
      id: row.id,
      kind: row.kind,
      state: row.state,
      clientId: row.client_id ?? undefined,
      userId: row.user_id ? userIdFromUuid(row.user_id) : undefined,
      data: data !== undefined ? data : row.data_sealed ? this.#sealer.keyring.openJson<Data>(row.data_sealed, `flows.data:${row.id}`) : ({} as Data),
      context: row.context,
      attempts: row.attempts,
      browserHash: row.browser_hash ?? undefined,
      version: row.version,
      expiresAt: row.expires_at,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}
