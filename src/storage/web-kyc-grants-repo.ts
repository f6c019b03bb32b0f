import { followingCte, type CteOf, type Queryable, type RowsOf } from './db.ts';
import { eventOfRows } from './events-repo.ts';

/** What one Web KYC verification hands to one client: the code, then the token, and until when. */
export interface WebKycGrant {
  flowId: string;
  clientId: string;
  verificationId: string;
  redirectUri: string;
  codeExpiresAt: Date | undefined;
  codeUsedAt: Date | undefined;
  tokenExpiresAt: Date | undefined;
  revokedAt: Date | undefined;
  /** When the details, the images and this row are deleted. */
  retainUntil: Date;
  createdAt: Date;
}

interface Row {
  flow_id: string;
  client_id: string;
  verification_id: string;
  redirect_uri: string;
  code_expires_at: Date | null;
  code_used_at: Date | null;
  token_expires_at: Date | null;
  revoked_at: Date | null;
  retain_until: Date;
  created_at: Date;
}

const COLUMNS = 'flow_id, client_id, verification_id, redirect_uri, code_expires_at, code_used_at, token_expires_at, revoked_at, retain_until, created_at';

const toGrant = (row: Row): WebKycGrant => ({
  flowId: row.flow_id,
  clientId: row.client_id,
  verificationId: row.verification_id,
  redirectUri: row.redirect_uri,
  codeExpiresAt: row.code_expires_at ?? undefined,
  codeUsedAt: row.code_used_at ?? undefined,
  tokenExpiresAt: row.token_expires_at ?? undefined,
  revokedAt: row.revoked_at ?? undefined,
  retainUntil: row.retain_until,
  createdAt: row.created_at,
});

const GRANT_ROWS: RowsOf = { cte: 'used', flowId: 'flow_id', clientId: 'client_id' };

/** Codes and tokens are looked up by their hash only; the values themselves are never stored. */
export class WebKycGrantsRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async insert(grant: { flowId: string; clientId: string; verificationId: string; redirectUri: string; retainUntil: Date; now: Date }): Promise<WebKycGrant> {
    const [row] = await this.#db.query<Row>(
      `insert into web_kyc_grants (flow_id, client_id, verification_id, redirect_uri, retain_until, created_at)
       values ($1, $2, $3, $4, $5, $6) returning ${COLUMNS}`,
      [grant.flowId, grant.clientId, grant.verificationId, grant.redirectUri, grant.retainUntil, grant.now],
    );
    return toGrant(row!);
  }

  async findByFlow(flowId: string): Promise<WebKycGrant | undefined> {
    const [row] = await this.#db.query<Row>(`select ${COLUMNS} from web_kyc_grants where flow_id = $1`, [flowId]);
    return row ? toGrant(row) : undefined;
  }

  async findByVerification(verificationId: string): Promise<WebKycGrant | undefined> {
    const [row] = await this.#db.query<Row>(`select ${COLUMNS} from web_kyc_grants where verification_id = $1`, [verificationId]);
    return row ? toGrant(row) : undefined;
  }

  async findByCodeHash(codeHash: string): Promise<WebKycGrant | undefined> {
    const [row] = await this.#db.query<Row>(`select ${COLUMNS} from web_kyc_grants where code_hash = $1`, [codeHash]);
    return row ? toGrant(row) : undefined;
  }

  /** A token that is neither expired nor revoked; each read is recorded as an event, in the same statement. */
  async readLiveToken(tokenHash: string, now: Date, eventType: string): Promise<WebKycGrant | undefined> {
    const event = eventOfRows(GRANT_ROWS, { type: eventType }, now, 3);
    const [row] = await this.#db.query<Row>(
      `with used as (
         select ${COLUMNS} from web_kyc_grants where token_hash = $1 and token_expires_at > $2 and revoked_at is null
       ), ${event.sql}
       select * from used`,
      [tokenHash, now, ...event.params],
    );
    return row ? toGrant(row) : undefined;
  }

  /** Gives the grant its code (once: a grant that already has one keeps it). */
  async setCode(flowId: string, codeHash: string, codeExpiresAt: Date): Promise<boolean> {
    const rows = await this.#db.query(
      `update web_kyc_grants set code_hash = $2, code_expires_at = $3, retain_until = $3
       where flow_id = $1 and code_hash is null and revoked_at is null returning 1`,
      [flowId, codeHash, codeExpiresAt],
    );
    return rows.length === 1;
  }

  /**
   * Uses the code and stores the token's hash, in one statement, only if the code is
   * unused, unexpired and was issued to this client for this redirect URI; so two
   * exchanges racing on one code cannot both win.
   */
  async exchange(input: { codeHash: string; clientId: string; redirectUri: string; tokenHash: string; tokenExpiresAt: Date; now: Date }, also?: CteOf): Promise<WebKycGrant | undefined> {
    const more = followingCte(also?.(GRANT_ROWS, 7));
    const [row] = await this.#db.query<Row>(
      `with used as (
         update web_kyc_grants set code_used_at = $6, token_hash = $4, token_expires_at = $5, retain_until = $5
         where code_hash = $1 and client_id = $2 and redirect_uri = $3
           and code_used_at is null and revoked_at is null and code_expires_at > $6
         returning ${COLUMNS}
       )${more.sql}
       select * from used`,
      [input.codeHash, input.clientId, input.redirectUri, input.tokenHash, input.tokenExpiresAt, input.now, ...more.params],
    );
    return row ? toGrant(row) : undefined;
  }

  /** Revokes the token (if any) and schedules the data for deletion now. */
  async revoke(flowId: string, now: Date, also?: CteOf): Promise<void> {
    const more = followingCte(also?.(GRANT_ROWS, 3));
    await this.#db.query(
      `with used as (
         update web_kyc_grants set revoked_at = coalesce(revoked_at, $2), retain_until = least(retain_until, $2) where flow_id = $1 returning ${COLUMNS}
       )${more.sql}
       select 1 from used`,
      [flowId, now, ...more.params],
    );
  }

  /** Brings the deletion forward (a rejected verification has nothing to hand out). */
  async retainUntil(flowId: string, until: Date): Promise<void> {
    await this.#db.query('update web_kyc_grants set retain_until = least(retain_until, $2) where flow_id = $1', [flowId, until]);
  }

  /** Grants whose data must go now, oldest first. */
  async due(now: Date, limit: number): Promise<WebKycGrant[]> {
    const rows = await this.#db.query<Row>(`select ${COLUMNS} from web_kyc_grants where retain_until <= $1 order by retain_until limit $2`, [now, limit]);
    return rows.map(toGrant);
  }

  async delete(flowId: string): Promise<void> {
    await this.#db.query('delete from web_kyc_grants where flow_id = $1', [flowId]);
  }
}
