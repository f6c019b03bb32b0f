import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../kernel/clock.ts';
import type { OidcPayloadsRepo } from '../storage/oidc-payloads-repo.ts';
import type { ClientsRepo } from '../storage/clients-repo.ts';
import { toProviderMetadata } from './client-metadata.ts';

/**
 * oidc-provider's storage interface over our schema. Clients come from the clients table
 * (read-only here: they are managed by the CLI, the import file and the admin API);
 * every other model (sessions, grants, codes, tokens, interactions) is a row of
 * oidc_payloads.
 */
export function adapterFactory(payloads: OidcPayloadsRepo, clients: ClientsRepo, clock: Clock) {
  return class SqlAdapter implements Adapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are not managed through the OAuth engine');
      const expiresAt = expiresIn ? new Date(clock.now().getTime() + expiresIn * 1000) : null;
      await payloads.upsert(this.model, id, payload as Record<string, unknown>, expiresAt);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') {
        const client = await clients.findRecent(id);
        return client ? (toProviderMetadata(client) as AdapterPayload) : undefined;
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
      await payloads.consume(this.model, id, clock.now());
    }

    async destroy(id: string): Promise<void> {
      await payloads.destroy(this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await payloads.revokeByGrantId(grantId);
    }
  };
}

function withConsumed(row: { payload: Record<string, unknown>; consumed_at: Date | null }): AdapterPayload {
  const payload = row.payload as AdapterPayload;
  return row.consumed_at ? { ...payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : payload;
}
