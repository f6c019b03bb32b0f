import type { Clock } from '../kernel/clock.ts';
import type { CredentialRecord, CredentialsRepo, NewCredential } from '../storage/credentials-repo.ts';
import type { EventsRepo } from '../storage/events-repo.ts';

/**
 * A person's identity wallet: credentials from every verification on this platform (for
 * any client), each with its provenance. Verifications put credentials in; 1-Click and OIDC
 * take them out, and each hand-over is recorded as a consent (src/consent/).
 */
export class Wallet {
  readonly #credentials: CredentialsRepo;
  readonly #events: EventsRepo;
  readonly #clock: Clock;

  constructor(credentials: CredentialsRepo, events: EventsRepo, clock: Clock) {
    this.#credentials = credentials;
    this.#events = events;
    this.#clock = clock;
  }

  async add(userId: string, credentials: NewCredential[]): Promise<CredentialRecord[]> {
    const now = this.#clock.now();
    const added: CredentialRecord[] = [];
    for (const credential of credentials) added.push(await this.#credentials.insert(userId, credential, now));
    if (added.length) {
      await this.#events.record(
        { type: 'credentials.added', userId, payload: { types: added.map((c) => c.type), methods: [...new Set(added.map((c) => c.verificationMethod))] } },
        now,
      );
    }
    return added;
  }

  /** Valid credentials (not expired, not revoked), newest first within each type. */
  valid(userId: string, types?: string[]): Promise<CredentialRecord[]> {
    return this.#credentials.listValid(userId, this.#clock.now(), types);
  }

  /** The newest valid credential of each requested type. */
  async latest(userId: string, types: string[]): Promise<Map<string, CredentialRecord>> {
    const latest = new Map<string, CredentialRecord>();
    for (const c of await this.valid(userId, types)) if (!latest.has(c.type)) latest.set(c.type, c);
    return latest;
  }
}
