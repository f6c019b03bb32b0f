import type { Queryable } from './db.ts';
import { eventOfRows } from './events-repo.ts';

/** An operator's application, as idflow keeps it. Field names follow RFC 7591 where one exists. */
export interface ClientMetadata {
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: string[];
  /** The scopes this client may ask for, space-separated. */
  scope: string;
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
  /** private_key_jwt: the client's public keys (RFC 7591), or where it publishes them. */
  jwks?: { keys: Record<string, unknown>[] } | undefined;
  jwks_uri?: string | undefined;
  /** Access-token lifetime in seconds; the platform default when absent. */
  access_token_ttl?: number;
  /** A resource server: may introspect tokens issued to other clients. */
  introspection_allowed?: boolean;
  /** Sign-in verifies the person's identity when the client asks for verified claims they do not hold. */
  verification_step?: boolean;
  /** Capability settings added by later features (1-Click brand, KYC…), kept as one document. */
  [key: string]: unknown;
}

export interface ClientRecord {
  clientId: string;
  name: string;
  metadata: ClientMetadata;
  secretHash: string | undefined;
  createdAt: Date;
  updatedAt: Date;
}

interface ClientRow {
  client_id: string;
  name: string;
  metadata: ClientMetadata;
  secret_hash: string | null;
  created_at: Date;
  updated_at: Date;
}

const toRecord = (row: ClientRow): ClientRecord => ({
  clientId: row.client_id,
  name: row.name,
  metadata: row.metadata,
  secretHash: row.secret_hash ?? undefined,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** How long the OAuth engine may reuse a client it read (see `findRecent`). */
export const RECENT_CLIENT_MS = 1000;
const RECENT_CLIENTS_MAX = 10_000;

export class ClientsRepo {
  readonly #db: Queryable;
  readonly #recent = new Map<string, { at: number; record: ClientRecord }>();
  /** Bumped by every write through this repository, so a read that raced a write is not kept. */
  #writes = 0;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /**
   * Creates the client, or replaces its name and metadata, and its secret when one is given
   * (`null` removes it: the client no longer authenticates with one).
   */
  async upsert(client: { clientId: string; name: string; metadata: ClientMetadata; secretHash?: string | null | undefined }): Promise<ClientRecord> {
    // A registration that really changed (not the import file writing the same again) is
    // news for the client's subscriptions: `client.changed`, in the same statement.
    const recorded = eventOfRows({ cte: 'news', clientId: 'client_id' }, { type: 'client.updated' }, undefined, 6);
    const [row] = await this.#db.query<ClientRow>(
      `with was as (select name, metadata, secret_hash from clients where client_id = $1),
       saved as (
         insert into clients (client_id, name, metadata, secret_hash) values ($1, $2, $3, $4)
         on conflict (client_id) do update set name = excluded.name, metadata = excluded.metadata,
           secret_hash = case when $5 then null else coalesce(excluded.secret_hash, clients.secret_hash) end, updated_at = now()
         returning *
       ),
       news as (
         select saved.client_id from saved, was
         where (was.name, was.metadata, was.secret_hash) is distinct from (saved.name, saved.metadata, saved.secret_hash)
       ),
       ${recorded.sql}
       select * from saved`,
      [client.clientId, client.name, JSON.stringify(client.metadata), client.secretHash ?? null, client.secretHash === null, ...recorded.params],
    );
    this.#forget(client.clientId);
    return toRecord(row!);
  }

  async findById(clientId: string): Promise<ClientRecord | undefined> {
    const [row] = await this.#db.query<ClientRow>('select * from clients where client_id = $1', [clientId]);
    return row ? toRecord(row) : undefined;
  }

  /**
   * The client as read at most RECENT_CLIENT_MS ago. The OAuth engine looks its client up
   * on every token request; this saves that query while a client is busy. Writes through
   * this repository take effect at once; writes from another process (the CLI, another
   * node) within RECENT_CLIENT_MS. Unknown ids are never kept. The age is measured on the
   * monotonic clock, not the injected one, so a stopped test clock cannot make a copy live on.
   */
  async findRecent(clientId: string): Promise<ClientRecord | undefined> {
    const hit = this.#recent.get(clientId);
    if (hit && performance.now() - hit.at < RECENT_CLIENT_MS) return hit.record;
    const writes = this.#writes;
    const record = await this.findById(clientId);
    if (!record || writes !== this.#writes) {
      this.#recent.delete(clientId);
      return record;
    }
    if (this.#recent.size >= RECENT_CLIENTS_MAX) this.#recent.clear();
    this.#recent.set(clientId, { at: performance.now(), record });
    return record;
  }

  #forget(clientId: string): void {
    this.#writes += 1;
    this.#recent.delete(clientId);
  }

  async list(): Promise<ClientRecord[]> {
    return (await this.#db.query<ClientRow>('select * from clients order by created_at, client_id')).map(toRecord);
  }

  async delete(clientId: string): Promise<boolean> {
    const rows = await this.#db.query('delete from clients where client_id = $1 returning client_id', [clientId]);
    this.#forget(clientId);
    return rows.length > 0;
  }

  /** Every scope any client may ask for; the OAuth core must know them all. */
  async allScopes(): Promise<string[]> {
    const rows = await this.#db.query<{ scope: string | null }>("select metadata->>'scope' as scope from clients");
    return [...new Set(rows.flatMap((r) => (r.scope ?? '').split(' ').filter(Boolean)))].sort();
  }
}
