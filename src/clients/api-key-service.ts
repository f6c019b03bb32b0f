import { randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../kernel/errors.ts';
import type { Clock } from '../kernel/clock.ts';
import { constantTimeEqual, hashSecret } from '../kernel/secrets.ts';
import type { ApiKeyOwner, ApiKeyRecord, ApiKeysRepo } from '../storage/api-keys-repo.ts';
import type { ClientsRepo } from '../storage/clients-repo.ts';
import type { EventsRepo } from '../storage/events-repo.ts';

const PREFIX_LENGTH = 8;
/**
 * A live key is remembered this long per node, so a busy API does not read the key and its
 * client for every call. Revoking through this node forgets at once; another node (or the
 * CLI's process) stops accepting a revoked key, or sees new brand settings, within this time.
 */
export const API_KEY_CACHE_SECONDS = 5;
const CACHE_LIMIT = 10_000;
/** A pinned key (import file) must be at least this long: a short key is a guessable key. */
const MIN_PINNED_LENGTH = 32;

/**
 * API keys for server-to-server calls (the 1-Click API). A key is 256 random bits, shown
 * once; only its SHA-256 is kept (a fast hash is enough for a random 256-bit value, see
 * kernel/secrets.ts). A client may hold several, so one is rotated by adding the new key,
 * moving the backend over, then revoking the old one.
 */
export class ApiKeyService {
  readonly #keys: ApiKeysRepo;
  readonly #clients: ClientsRepo;
  readonly #events: EventsRepo;
  readonly #clock: Clock;
  readonly #cache = new Map<string, { owner: ApiKeyOwner; until: number }>();

  constructor(keys: ApiKeysRepo, clients: ClientsRepo, events: EventsRepo, clock: Clock) {
    this.#keys = keys;
    this.#clients = clients;
    this.#events = events;
    this.#clock = clock;
  }

  /** A new key for the client; the returned `key` is the only time it is seen. */
  async create(clientId: string): Promise<{ key: string; record: ApiKeyRecord }> {
    await this.#requireClient(clientId);
    // Standard base64, 44 characters: the shape of Verified's keys, so operator code that
    // stores or validates keys keeps working.
    const key = randomBytes(32).toString('base64');
    const record = await this.#insert(clientId, key);
    return { key, record };
  }

  /** Makes sure a key chosen elsewhere (an import file) is a live key of the client. */
  async ensure(clientId: string, key: string): Promise<{ created: boolean }> {
    if (key.length < MIN_PINNED_LENGTH || key.length > 256 || /\s/.test(key)) {
      throw new AppError('validation_failed', `An API key must be ${MIN_PINNED_LENGTH}-256 characters without spaces`, {
        fields: [{ field: '/api_keys', message: `each key must be ${MIN_PINNED_LENGTH}-256 characters without spaces` }],
      });
    }
    await this.#requireClient(clientId);
    const existing = await this.#keys.findByHash(hashSecret(key));
    if (existing) {
      if (existing.clientId !== clientId) throw new AppError('conflict', 'That API key already belongs to another client');
      if (existing.revokedAt) throw new AppError('conflict', `API key ${existing.prefix}… was revoked; a revoked key cannot come back`);
      return { created: false };
    }
    await this.#insert(clientId, key);
    return { created: true };
  }

  list(clientId: string): Promise<ApiKeyRecord[]> {
    return this.#keys.listForClient(clientId);
  }

  /** Revokes the key named by id or prefix; refusing from then on is immediate (no cache). */
  async revoke(clientId: string, idOrPrefix: string): Promise<ApiKeyRecord> {
    const now = this.#clock.now();
    const revoked = await this.#keys.revoke(clientId, idOrPrefix, now);
    this.#cache.clear();
    if (revoked.length === 0) throw new AppError('not_found', `Client ${clientId} has no live API key ${idOrPrefix}`);
    if (revoked.length > 1) {
      // Two keys sharing a prefix is astronomically unlikely; refuse to guess rather than revoke both.
      throw new AppError('conflict', 'That prefix names more than one key; revoke by id');
    }
    await this.#events.record({ type: 'api_key.revoked', clientId, payload: { keyId: revoked[0]!.id } }, now);
    return revoked[0]!;
  }

  /** The live key and its client for a presented key, or undefined. */
  async authenticate(presented: string): Promise<ApiKeyOwner | undefined> {
    if (presented.length === 0 || presented.length > 256) return undefined;
    const hash = hashSecret(presented);
    const now = this.#clock.now().getTime();
    const cached = this.#cache.get(hash);
    if (cached && cached.until > now) return cached.owner;
    const owner = await this.#keys.findOwner(hash);
    // The lookup is by hash already; the comparison keeps the rule "secrets are compared in
    // constant time" true even if the lookup ever changes.
    if (!owner || !constantTimeEqual(owner.keyHash, hash)) {
      this.#cache.delete(hash);
      return undefined;
    }
    // Only live keys are remembered: unknown keys always go to the database.
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(hash, { owner, until: now + API_KEY_CACHE_SECONDS * 1000 });
    return owner;
  }

  /** Forgets remembered keys (after a client's settings change on this node). */
  forgetCached(): void {
    this.#cache.clear();
  }

  async #insert(clientId: string, key: string): Promise<ApiKeyRecord> {
    const now = this.#clock.now();
    const record = await this.#keys.insert({ id: randomUUID(), clientId, keyHash: hashSecret(key), prefix: key.slice(0, PREFIX_LENGTH) }, now);
    await this.#events.record({ type: 'api_key.created', clientId, payload: { keyId: record.id } }, now);
    return record;
  }

  async #requireClient(clientId: string): Promise<void> {
    if (!(await this.#clients.findById(clientId))) throw new AppError('not_found', `No client ${clientId}`);
  }
}
