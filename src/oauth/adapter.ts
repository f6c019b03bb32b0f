import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Clock } from '../kernel/clock.ts';
import type { OidcPayloadsRepo } from '../storage/oidc-payloads-repo.ts';
import type { ClientsRepo } from '../storage/clients-repo.ts';
import { toProviderMetadata } from './client-metadata.ts';

/**
 * oidc-provider's storage interface over our schema. Clients come from the clients table
 * (read-only here: they are managed by the CLI, the import file and the admin API);
 * every other model (sessions, grants, codes, tokens, interactions) is a row of
 * oidc_payloads, stored hashed and sealed (src/storage/oidc-payloads-repo.ts). A token of a
 * revoked grant is never found, whenever it was written.
 */
export function adapterFactory(payloads: OidcPayloadsRepo, clients: ClientsRepo, clock: Clock) {
  const grants = new GrantsReadAlong();
  return class SqlAdapter implements Adapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are not managed through the OAuth engine');
      const expiresAt = expiresIn ? new Date(clock.now().getTime() + expiresIn * 1000) : null;
      const written = await payloads.upsert(this.model, id, payload as Record<string, unknown>, expiresAt);
      // The grant was revoked while this request was using it (reuse seen by another one):
      // nothing of it is issued any more.
      if (!written) throw new errors.InvalidGrant('grant request is invalid');
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') {
        const client = await clients.findRecent(id);
        return client ? (toProviderMetadata(client) as AdapterPayload) : undefined;
      }
      if (this.model === 'Grant') {
        const grant = grants.take(id);
        if (grant) return grant as AdapterPayload;
      }
      if (READ_WITH_GRANT.has(this.model)) {
        const row = await payloads.findWithGrant(this.model, id, clock.now());
        const grantId = row?.payload.grantId;
        if (typeof grantId === 'string' && row?.grant) grants.keep(grantId, row.grant);
        return row && withConsumed(row);
      }
      const row = await payloads.find(this.model, id, clock.now());
      return row && withConsumed(row);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const row = await payloads.findBy(this.model, 'uid', uid, clock.now());
      return row && withConsumed(row);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const row = await payloads.findBy(this.model, 'user_code', userCode, clock.now());
      return row && withConsumed(row);
    }

    async consume(id: string): Promise<void> {
      const { consumed, grantId } = await payloads.consume(this.model, id, clock.now());
      if (consumed) return;
      // Another request used this code or refresh token between our read and now: that is
      // reuse, and reuse revokes the grant, as oidc-provider does when it sees it first.
      if (grantId) await payloads.revokeGrant(grantId, clock.now());
      // Said in the engine's own words for reuse, so it is reported as the engine's finding is (engine.ts).
      throw new errors.InvalidGrant(REUSE[this.model as keyof typeof REUSE]?.detail ?? 'grant request is invalid');
    }

    async destroy(id: string): Promise<void> {
      // A grant is destroyed when it is revoked: it takes every token of it along.
      if (this.model === 'Grant') await payloads.revokeGrant(id, clock.now());
      else await payloads.destroy(this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await payloads.revokeByGrantId(this.model, grantId);
    }
  };
}

function withConsumed(row: { payload: Record<string, unknown>; consumed_at: Date | null }): AdapterPayload {
  const payload = row.payload as AdapterPayload;
  return row.consumed_at ? { ...payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : payload;
}

/**
 * Reuse of a refresh token or code, by model: the engine's own `error_detail` (never sent)
 * when it finds one used already, and the kind it is reported as (engine.ts).
 */
export const REUSE = {
  RefreshToken: { detail: 'refresh token already used', kind: 'refresh_token' },
  AuthorizationCode: { detail: 'authorization code already consumed', kind: 'authorization_code' },
} as const;

/** Models whose every read is followed by a read of their grant. */
const READ_WITH_GRANT = new Set(['RefreshToken', 'AuthorizationCode']);

/**
 * Grants read along with a refresh token or a code, for oidc-provider's grant lookup that
 * follows within the same request. Each is handed out once, and only within a second of
 * the read: as fresh as a query made then would have been.
 */
class GrantsReadAlong {
  static readonly MAX_AGE_MS = 1000;
  readonly #kept = new Map<string, { payload: Record<string, unknown>; at: number }>();

  keep(grantId: string, payload: Record<string, unknown>): void {
    if (this.#kept.size >= 1000) this.#sweep();
    this.#kept.set(grantId, { payload, at: performance.now() });
  }

  take(grantId: string): Record<string, unknown> | undefined {
    const kept = this.#kept.get(grantId);
    if (!kept) return undefined;
    this.#kept.delete(grantId);
    return performance.now() - kept.at < GrantsReadAlong.MAX_AGE_MS ? kept.payload : undefined;
  }

  #sweep(): void {
    const now = performance.now();
    for (const [id, kept] of this.#kept) if (now - kept.at >= GrantsReadAlong.MAX_AGE_MS) this.#kept.delete(id);
    // Requests that never asked for their grant (refused earlier) must not pile up.
    if (this.#kept.size >= 1000) this.#kept.clear();
  }
}
