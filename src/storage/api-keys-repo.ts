import type { Queryable } from './db.ts';
import type { ClientMetadata } from './clients-repo.ts';

export interface ApiKeyRecord {
  id: string;
  clientId: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | undefined;
}

/** A live key with the client it belongs to, found in one query (the hot path of every API call). */
export interface ApiKeyOwner {
  keyId: string;
  keyHash: string;
  client: { clientId: string; name: string; metadata: ClientMetadata };
}

interface Row {
  id: string;
  client_id: string;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

const toRecord = (r: Row): ApiKeyRecord => ({
  id: r.id,
  clientId: r.client_id,
  prefix: r.prefix,
  createdAt: r.created_at,
  revokedAt: r.revoked_at ?? undefined,
});

export class ApiKeysRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async insert(key: { id: string; clientId: string; keyHash: string; prefix: string }, now: Date): Promise<ApiKeyRecord> {
    const [row] = await this.#db.query<Row>(
      'insert into api_keys (id, client_id, key_hash, prefix, created_at) values ($1, $2, $3, $4, $5) returning *',
      [key.id, key.clientId, key.keyHash, key.prefix, now],
    );
    return toRecord(row!);
  }

  /** The key with this hash, revoked or not (import files use it to stay idempotent). */
  async findByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const [row] = await this.#db.query<Row>('select * from api_keys where key_hash = $1', [keyHash]);
    return row ? toRecord(row) : undefined;
  }

  async findOwner(keyHash: string): Promise<ApiKeyOwner | undefined> {
    const [row] = await this.#db.query<{ id: string; key_hash: string; client_id: string; name: string; metadata: ClientMetadata }>(
      `select k.id, k.key_hash, c.client_id, c.name, c.metadata
         from api_keys k join clients c on c.client_id = k.client_id
        where k.key_hash = $1 and k.revoked_at is null`,
      [keyHash],
    );
    return row ? { keyId: row.id, keyHash: row.key_hash, client: { clientId: row.client_id, name: row.name, metadata: row.metadata } } : undefined;
  }

  async listForClient(clientId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.#db.query<Row>('select * from api_keys where client_id = $1 order by created_at, id', [clientId]);
    return rows.map(toRecord);
  }

  /** Revokes a client's key named by id or by prefix; the keys revoked (none when already revoked). */
  async revoke(clientId: string, idOrPrefix: string, now: Date): Promise<ApiKeyRecord[]> {
    const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrPrefix);
    const rows = await this.#db.query<Row>(
      `update api_keys set revoked_at = $3
        where client_id = $1 and revoked_at is null and ${isUuid ? 'id = $2::uuid' : 'prefix = $2'}
        returning *`,
      [clientId, idOrPrefix, now],
    );
    return rows.map(toRecord);
  }
}
