import { randomUUID } from 'node:crypto';
import { userIdFromUuid, userUuid } from '../kernel/ids.ts';
import type { Queryable } from './db.ts';
import type { Sealer } from './sealer.ts';

export type CredentialValue = string | Record<string, unknown>;

export interface CredentialRecord {
  id: string;
  userId: string; // usr:<uuid>
  type: string;
  value: CredentialValue;
  verificationMethod: string;
  verificationId: string | undefined;
  sourceClientId: string | undefined;
  /** Identity Assurance evidence (verified_claims.verification), when a verification produced it. */
  evidence: Record<string, unknown> | undefined;
  issuedAt: Date;
  expiresAt: Date | undefined;
}

export interface NewCredential {
  type: string;
  value: CredentialValue;
  verificationMethod: string;
  verificationId?: string | undefined;
  sourceClientId?: string | undefined;
  evidence?: Record<string, unknown> | undefined;
  expiresAt?: Date | undefined;
}

interface Row {
  id: string;
  user_id: string;
  type: string;
  value_sealed: string;
  verification_method: string;
  verification_id: string | null;
  source_client_id: string | null;
  evidence_sealed: string | null;
  issued_at: Date;
  expires_at: Date | null;
}

export class CredentialsRepo {
  readonly #db: Queryable;
  readonly #sealer: Sealer;

  constructor(db: Queryable, sealer: Sealer) {
    this.#db = db;
    this.#sealer = sealer;
  }

  async insert(userId: string, credential: NewCredential, issuedAt: Date): Promise<CredentialRecord> {
    const [row] = await this.#db.query<Row>(
      `insert into credentials (id, user_id, type, value_sealed, verification_method, verification_id, source_client_id, evidence_sealed, issued_at, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning *`,
      [
        randomUUID(),
        userUuid(userId),
        credential.type,
        this.#sealer.keyring.sealJson(credential.value, 'credentials.value'),
        credential.verificationMethod,
        credential.verificationId ?? null,
        credential.sourceClientId ?? null,
        credential.evidence ? this.#sealer.keyring.sealJson(credential.evidence, 'credentials.evidence') : null,
        issuedAt,
        credential.expiresAt ?? null,
      ],
    );
    return this.#toRecord(row!);
  }

  /** The person's valid credentials (not revoked, not expired), newest first within each type. */
  async listValid(userId: string, now: Date, types?: string[]): Promise<CredentialRecord[]> {
    const rows = await this.#db.query<Row>(
      `select * from credentials where user_id = $1 and revoked_at is null and (expires_at is null or expires_at > $2)
       ${types ? 'and type = any($3)' : ''} order by type, issued_at desc`,
      types ? [userUuid(userId), now, types] : [userUuid(userId), now],
    );
    return rows.map((r) => this.#toRecord(r));
  }

  async findByIds(ids: string[]): Promise<CredentialRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.#db.query<Row>('select * from credentials where id = any($1)', [ids]);
    return rows.map((r) => this.#toRecord(r));
  }

  async revoke(id: string, now: Date): Promise<void> {
    await this.#db.query('update credentials set revoked_at = $2 where id = $1', [id, now]);
  }

  #toRecord(row: Row): CredentialRecord {
    return {
      id: row.id,
      userId: userIdFromUuid(row.user_id),
      type: row.type,
      value: this.#sealer.keyring.openJson<CredentialValue>(row.value_sealed, 'credentials.value'),
      verificationMethod: row.verification_method,
      verificationId: row.verification_id ?? undefined,
      sourceClientId: row.source_client_id ?? undefined,
      evidence: row.evidence_sealed ? this.#sealer.keyring.openJson(row.evidence_sealed, 'credentials.evidence') : undefined,
      issuedAt: row.issued_at,
      expiresAt: row.expires_at ?? undefined,
    };
  }
}
