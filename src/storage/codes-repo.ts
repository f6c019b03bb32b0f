import { followingCte, type Cte, type CteOf, type Queryable, type RowsOf } from './db.ts';

/** A code or token as stored: its value only as a keyed hash, which the caller computes. */
export interface CodeRecord {
  hash: string;
  purpose: string;
  flowId: string;
  clientId: string;
  subject: string | undefined;
  binding: string | undefined;
  expiresAt: Date;
  maxAttempts: number | undefined;
  attempts: number;
  usedAt: Date | undefined;
  revokedAt: Date | undefined;
}

export interface NewCode {
  hash: string;
  purpose: string;
  flowId: string;
  clientId: string;
  subject?: string | undefined;
  binding?: string | undefined;
  expiresAt: Date;
  maxAttempts?: number | undefined;
  now: Date;
}

interface Row {
  hash: string;
  purpose: string;
  flow_id: string;
  client_id: string;
  subject: string | null;
  binding: string | null;
  expires_at: Date;
  max_attempts: number | null;
  attempts: number;
  used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'hash, purpose, flow_id, client_id, subject, binding, expires_at, max_attempts, attempts, used_at, revoked_at';

const toRecord = (row: Row): CodeRecord => ({
  hash: row.hash,
  purpose: row.purpose,
  flowId: row.flow_id,
  clientId: row.client_id,
  subject: row.subject ?? undefined,
  binding: row.binding ?? undefined,
  expiresAt: row.expires_at,
  maxAttempts: row.max_attempts ?? undefined,
  attempts: row.attempts,
  usedAt: row.used_at ?? undefined,
  revokedAt: row.revoked_at ?? undefined,
});

/** The rows a statement acted on, for the writes other repositories add to it (`CteOf`). */
const CODE_ROWS: RowsOf = { cte: 'code', flowId: 'flow_id', clientId: 'client_id' };

/**
 * Single-use codes and hand-over tokens (src/codes/). Every decision about use is one
 * conditional statement, so two requests racing on one value cannot both win.
 */
export class CodesRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async insert(code: NewCode): Promise<void> {
    await this.#db.query(
      `insert into codes (hash, purpose, flow_id, client_id, subject, binding, expires_at, max_attempts, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [code.hash, code.purpose, code.flowId, code.clientId, code.subject ?? null, code.binding ?? null, code.expiresAt, code.maxAttempts ?? null, code.now],
    );
  }

  /** The same insert, for the rows of another statement (a flow being written): one code per row. */
  insertOf(rows: Pick<RowsOf, 'cte' | 'flowId' | 'clientId'>, code: Omit<NewCode, 'flowId' | 'clientId'>, firstParam: number): Cte {
    const p = (i: number) => `$${firstParam + i}`;
    return {
      sql: `code as (insert into codes (hash, purpose, flow_id, client_id, subject, binding, expires_at, max_attempts, created_at)
        select ${p(0)}::text, ${p(1)}::text, ${rows.flowId}, ${rows.clientId}, ${p(2)}::text, ${p(3)}::text, ${p(4)}::timestamptz, ${p(5)}::integer, ${p(6)}::timestamptz from ${rows.cte})`,
      params: [code.hash, code.purpose, code.subject ?? null, code.binding ?? null, code.expiresAt, code.maxAttempts ?? null, code.now],
    };
  }

  async find(hash: string, purpose: string): Promise<CodeRecord | undefined> {
    const [row] = await this.#db.query<Row>(`select ${COLUMNS} from codes where hash = $1 and purpose = $2`, [hash, purpose]);
    return row ? toRecord(row) : undefined;
  }

  /**
   * Uses the code if it is unused, unrevoked, unexpired, this client's and presented with
   * its binding; in the same statement writes what it is exchanged for (a token of the same
   * flow, client and subject) and whatever `also` adds. Undefined when it was not used.
   */
  async use(
    input: { hash: string; purpose: string; clientId: string; binding: string | null; now: Date; issue?: { hash: string; purpose: string; expiresAt: Date } | undefined },
    also?: CteOf,
  ): Promise<CodeRecord | undefined> {
    const issue = input.issue
      ? {
          sql: `, issued as (insert into codes (hash, purpose, flow_id, client_id, subject, expires_at, created_at)
               select $6::text, $7::text, flow_id, client_id, subject, $8::timestamptz, $5::timestamptz from code)`,
          params: [input.issue.hash, input.issue.purpose, input.issue.expiresAt],
        }
      : { sql: '', params: [] };
    const first = 6 + issue.params.length;
    const more = followingCte(also?.(CODE_ROWS, first));
    const [row] = await this.#db.query<Row>(
      `with code as (
         update codes set used_at = $5
         where hash = $1 and purpose = $2 and client_id = $3 and binding is not distinct from $4
           and used_at is null and revoked_at is null and expires_at > $5
         returning ${COLUMNS}
       )${issue.sql}${more.sql}
       select * from code`,
      [input.hash, input.purpose, input.clientId, input.binding, input.now, ...issue.params, ...more.params],
    );
    return row ? toRecord(row) : undefined;
  }

  /**
   * A flow's code of `purpose`, tried with a presented value: one statement counts the try
   * and, when the code is live and the value right, uses the code. Only an unused, unrevoked
   * code with tries left is tried; a lapsed one still counts the try (so lapsing does not
   * reset the limit) but is never used. Undefined when there was nothing to try.
   */
  async attempt(input: { flowId: string; purpose: string; hash: string; now: Date }): Promise<{ used: boolean; live: boolean; attempts: number; maxAttempts: number | undefined } | undefined> {
    const [row] = await this.#db.query<{ used: boolean; live: boolean; attempts: number; max_attempts: number | null }>(
      `update codes set attempts = attempts + 1, used_at = case when hash = $3 and expires_at > $4 then $4::timestamptz end
       where flow_id = $1 and purpose = $2 and used_at is null and revoked_at is null
         and (max_attempts is null or attempts < max_attempts)
       returning used_at is not null as used, expires_at > $4 as live, attempts, max_attempts`,
      [input.flowId, input.purpose, input.hash, input.now],
    );
    return row ? { used: row.used, live: row.live, attempts: row.attempts, maxAttempts: row.max_attempts ?? undefined } : undefined;
  }

  /** A flow's latest code of `purpose`, whatever its state (to tell why an attempt was refused). */
  async latestOf(flowId: string, purpose: string): Promise<CodeRecord | undefined> {
    const [row] = await this.#db.query<Row>(`select ${COLUMNS} from codes where flow_id = $1 and purpose = $2 order by created_at desc limit 1`, [flowId, purpose]);
    return row ? toRecord(row) : undefined;
  }

  /** A token that is neither expired nor revoked, with whatever `also` adds for the read (an event). */
  async readLive(hash: string, purpose: string, now: Date, also?: CteOf): Promise<CodeRecord | undefined> {
    const more = followingCte(also?.(CODE_ROWS, 4));
    const [row] = await this.#db.query<Row>(
      `with code as (
         select ${COLUMNS} from codes where hash = $1 and purpose = $2 and expires_at > $3 and revoked_at is null
       )${more.sql}
       select * from code`,
      [hash, purpose, now, ...more.params],
    );
    return row ? toRecord(row) : undefined;
  }

  /** Revokes every code and token of the flow, with whatever `also` adds (the flow moved on), once for the flow. */
  async revokeFlow(flowId: string, now: Date, also?: CteOf): Promise<void> {
    const more = followingCte(also?.(CODE_ROWS, 3));
    await this.#db.query(
      `with revoked as (
         update codes set revoked_at = coalesce(revoked_at, $2) where flow_id = $1 returning flow_id, client_id
       ), code as (select distinct flow_id, client_id from revoked)${more.sql}
       select 1 from code`,
      [flowId, now, ...more.params],
    );
  }
}
