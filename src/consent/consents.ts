import type { Clock } from '../kernel/clock.ts';
import type { ConsentRecord, ConsentsRepo, NewConsent } from '../storage/consents-repo.ts';

export type { ConsentDoor, ConsentRecord, NewConsent } from '../storage/consents-repo.ts';

/** How many hand-overs one listing shows at most (a person's page, the CLI). */
export const CONSENT_LIST_LIMIT = 500;

/**
 * Consent: the one record of every hand-over of personal data to an operator, whatever the
 * door. The OIDC consent page, a 1-Click share and a Web KYC details read all call `record`
 * and nothing else writes a consent, so a person (their account page) and an operator
 * (`idflow consents list`) see every hand-over in one list. A record names the client, the
 * door, what was handed over (field or claim names, never values), the flow or
 * verification it came from and when; the person when they have an account.
 */
export class Consents {
  readonly #repo: ConsentsRepo;
  readonly #clock: Clock;

  constructor(repo: ConsentsRepo, clock: Clock) {
    this.#repo = repo;
    this.#clock = clock;
  }

  /**
   * Records a hand-over with its `identity.shared` event. A flow hands its data over once:
   * when its hand-over is already recorded (a second read of the same details), nothing
   * new is written and undefined is returned. Handing over nothing is no hand-over.
   */
  async record(handOver: NewConsent): Promise<ConsentRecord | undefined> {
    if (handOver.shared.length === 0) return undefined;
    return this.#repo.insert({ ...handOver, shared: [...new Set(handOver.shared)] }, this.#clock.now());
  }

  /** Every hand-over of one person's data, newest first. */
  ofPerson(userId: string): Promise<ConsentRecord[]> {
    return this.#repo.list({ userId }, CONSENT_LIST_LIMIT);
  }

  /** Hand-overs of one person's data, to one client, or both; newest first. */
  list(filter: { userId?: string | undefined; clientId?: string | undefined }): Promise<ConsentRecord[]> {
    return this.#repo.list(filter, CONSENT_LIST_LIMIT);
  }
}
