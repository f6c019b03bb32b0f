import { randomUUID } from 'node:crypto';
import { userIdFromUuid, userUuid } from '../kernel/ids.ts';
import type { Queryable } from './db.ts';

export interface ConsentRecord {
  id: string;
  userId: string;
  clientId: string;
  credentialIds: string[];
  flowId: string | undefined;
  createdAt: Date;
}

interface Row {
  id: string;
  user_id: string;
  client_id: string;
  credential_ids: string[];
  flow_id: string | null;
  created_at: Date;
}

const toRecord = (r: Row): ConsentRecord => ({
  id: r.id,
  userId: userIdFromUuid(r.user_id),
  clientId: r.client_id,
  credentialIds: r.credential_ids,
  flowId: r.flow_id ?? undefined,
  createdAt: r.created_at,
});

export class ConsentsRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async insert(consent: { userId: string; clientId: string; credentialIds: string[]; flowId?: string | undefined }, now: Date): Promise<ConsentRecord> {
    const [row] = await this.#db.query<Row>(
      'insert into consents (id, user_id, client_id, credential_ids, flow_id, created_at) values ($1, $2, $3, $4, $5, $6) returning *',
      [randomUUID(), userUuid(consent.userId), consent.clientId, consent.credentialIds, consent.flowId ?? null, now],
    );
    return toRecord(row!);
  }

  async listForUser(userId: string): Promise<ConsentRecord[]> {
    const rows = await this.#db.query<Row>('select * from consents where user_id = $1 order by created_at', [userUuid(userId)]);
    return rows.map(toRecord);
  }

  async findByFlow(flowId: string): Promise<ConsentRecord | undefined> {
    const [row] = await this.#db.query<Row>('select * from consents where flow_id = $1 order by created_at desc limit 1', [flowId]);
    return row ? toRecord(row) : undefined;
  }
}
