import { randomUUID } from 'node:crypto';
import { userIdFromUuid, userUuid } from '../kernel/ids.ts';
import type { Queryable, RowsOf } from './db.ts';
import { eventOfRows } from './events-repo.ts';

/** The ways personal data leaves the platform for an operator. */
export type ConsentDoor = 'oidc' | 'one_click' | 'web_kyc';

export interface NewConsent {
  door: ConsentDoor;
  clientId: string;
  /** The person, when they have an account (a Web KYC person may have none). */
  userId?: string | undefined;
  /** What was handed over: field or claim names, never values. */
  shared: string[];
  /** The wallet credentials the hand-over disclosed. */
  credentialIds?: string[] | undefined;
  /** The flow that handed the data over (a 1-Click request, a Web KYC flow); one record per flow. */
  flowId?: string | undefined;
  /** The verification whose results were handed over (Web KYC). */
  verificationId?: string | undefined;
}

export interface ConsentRecord {
  id: string;
  door: ConsentDoor;
  userId: string | undefined;
  clientId: string;
  /** The client's name as registered now; its id when the client has since been deleted. */
  clientName: string;
  shared: string[];
  credentialIds: string[];
  flowId: string | undefined;
  verificationId: string | undefined;
  createdAt: Date;
}

interface Row {
  id: string;
  door: ConsentDoor;
  user_id: string | null;
  client_id: string;
  client_name: string | null;
  shared: string[];
  credential_ids: string[];
  flow_id: string | null;
  verification_id: string | null;
  created_at: Date;
}

const toRecord = (r: Row): ConsentRecord => ({
  id: r.id,
  door: r.door,
  userId: r.user_id ? userIdFromUuid(r.user_id) : undefined,
  clientId: r.client_id,
  clientName: r.client_name ?? r.client_id,
  shared: r.shared,
  credentialIds: r.credential_ids,
  flowId: r.flow_id ?? undefined,
  verificationId: r.verification_id ?? undefined,
  createdAt: r.created_at,
});

const CONSENT_ROWS: RowsOf = { cte: 'written', flowId: 'flow_id', clientId: 'client_id', userId: 'user_id' };

/** Who was handed which data, and when; the rows for a listing carry the client's name. */
const LISTED = 'select consents.*, clients.name as client_name from consents left join clients on clients.client_id = consents.client_id';

export class ConsentsRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /**
   * Writes the record and its `identity.shared` event in one statement. A flow's hand-over
   * is written once: for a flow already recorded nothing is written and undefined returned.
   */
  async insert(consent: NewConsent, now: Date): Promise<ConsentRecord | undefined> {
    const event = eventOfRows(
      CONSENT_ROWS,
      { type: 'identity.shared', payload: { door: consent.door, shared: consent.shared, credentials: consent.credentialIds?.length ?? 0 } },
      now,
      10,
    );
    const [row] = await this.#db.query<Row>(
      `with written as (
         insert into consents (id, door, user_id, client_id, shared, credential_ids, flow_id, verification_id, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (door, flow_id) where flow_id is not null do nothing
         returning *
       ), ${event.sql}
       select written.*, clients.name as client_name from written left join clients on clients.client_id = written.client_id`,
      [
        randomUUID(),
        consent.door,
        consent.userId ? (userUuid(consent.userId) ?? null) : null,
        consent.clientId,
        consent.shared,
        consent.credentialIds ?? [],
        consent.flowId ?? null,
        consent.verificationId ?? null,
        now,
        ...event.params,
      ],
    );
    return row ? toRecord(row) : undefined;
  }

  /** Hand-overs of one person's data, to one client, or both; newest first. */
  async list(filter: { userId?: string | undefined; clientId?: string | undefined }, limit: number): Promise<ConsentRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.userId !== undefined) {
      const uuid = userUuid(filter.userId);
      if (!uuid) return [];
      params.push(uuid);
      where.push(`consents.user_id = $${params.length}`);
    }
    if (filter.clientId !== undefined) {
      params.push(filter.clientId);
      where.push(`consents.client_id = $${params.length}`);
    }
    params.push(limit);
    const rows = await this.#db.query<Row>(
      `${LISTED} ${where.length ? `where ${where.join(' and ')}` : ''} order by consents.created_at desc, consents.id limit $${params.length}`,
      params,
    );
    return rows.map(toRecord);
  }
}
