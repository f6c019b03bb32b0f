import type { Logger } from 'pino';
import type { Clock } from '../kernel/clock.ts';
import { currentRequestId } from '../kernel/request-context.ts';
import type { EventsRepo, NewEvent } from '../storage/events-repo.ts';
import type { Metrics } from './metrics.ts';

/** Where a password sign-in came in (the door of `PasswordSignIn`). */
export type SignInVia = 'login_page' | 'password_grant' | 'account';

/** What was presented again: an OAuth code or refresh token, or one of idflow's own codes (its purpose). */
export type ReuseKind = 'refresh_token' | 'authorization_code' | (string & {});

/** Refusals of one key under one limit are recorded as an event once per window (per node), however many there are. */
const MAX_REMEMBERED_REFUSALS = 10_000;

/**
 * What an operator must be able to see: failed sign-ins, a limit refusing, a code or
 * refresh token presented again, a verification that failed. Each is, in one place:
 * - a log line (`security: true`, the event type, the client, a reason code and the request id;
 *   never a username, email address, phone number, password, code or token);
 * - a metric increment (`Metrics`);
 * - an `events` row, which the webhook catalogue publishes (`sign_in.failed`,
 *   `limit.exceeded`, `token.reuse_detected`; a verification's failure is already the
 *   `verification.failed` of its flow).
 *
 * An event that cannot be written is logged, never turned into an error answer: the refusal
 * the caller is about to give stands.
 */
export class SecurityEvents {
  readonly metrics: Metrics;
  readonly #events: EventsRepo;
  readonly #logger: Logger;
  readonly #clock: Clock;
  /** `<limit>:<hashed key>` → until when its refusals are already on record. */
  readonly #refusalsOnRecord = new Map<string, number>();

  constructor(deps: { metrics: Metrics; events: EventsRepo; logger: Logger; clock: Clock }) {
    this.metrics = deps.metrics;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#clock = deps.clock;
  }

  signInSucceeded(): void {
    this.metrics.signIns.inc({ outcome: 'success' });
  }

  /**
   * A wrong username or password: the same reason for both, as the answer gives, and no
   * user id (the event would tell which names are accounts).
   */
  async signInFailed(about: { clientId: string | undefined; via: SignInVia | undefined }): Promise<void> {
    this.metrics.signIns.inc({ outcome: 'failure' });
    const reason = 'invalid_credentials';
    this.#log('sign_in.failed', { clientId: about.clientId, reason, via: about.via });
    await this.#record({ type: 'sign_in.failed', clientId: about.clientId, payload: { method: 'password', reason, ...(about.via ? { via: about.via } : {}) } });
  }

  /** A sign-in refused by its limits before the password was checked (the refusal itself is `limitExceeded`'s). */
  signInThrottled(): void {
    this.metrics.signIns.inc({ outcome: 'throttled' });
  }

  /**
   * A limit refused a request. The log line and the metric count every refusal; the event
   * is written for the first refusal of a key in its window, so a flood of refused guesses
   * does not become a flood of rows and webhook messages.
   */
  async limitExceeded(about: { limit: string; hashedKey: string; windowSeconds: number; retryAfter: number; clientId: string | undefined }): Promise<void> {
    this.metrics.throttleHits.inc({ limit: about.limit });
    this.#log('limit.exceeded', { clientId: about.clientId, reason: about.limit, retryAfter: about.retryAfter });
    if (!this.#firstRefusalInWindow(`${about.limit}:${about.hashedKey}`, about.windowSeconds)) return;
    await this.#record({ type: 'limit.exceeded', clientId: about.clientId, payload: { limit: about.limit, retryAfter: about.retryAfter } });
  }

  /** A single-use code or a refresh token came back: what it led to has been revoked. */
  async reuseDetected(about: { kind: ReuseKind; clientId: string | undefined; flowId?: string | undefined }): Promise<void> {
    this.metrics.reuseDetections.inc({ kind: about.kind });
    this.#log('token.reuse_detected', { clientId: about.clientId, reason: `${about.kind}_reused`, flowId: about.flowId });
    await this.#record({ type: 'token.reuse_detected', clientId: about.clientId, flowId: about.flowId, payload: { kind: about.kind } });
  }

  /** A verification ended without verifying the person; its flow wrote the event (`verification.failed`). */
  verificationFailed(about: { clientId: string | undefined; verificationId: string; provider: string; state: string; reasons: readonly string[] }): void {
    this.metrics.verificationFailures.inc({ provider: about.provider, state: about.state });
    this.#log('verification.failed', { clientId: about.clientId, reason: about.reasons.join(',') || about.state, verificationId: about.verificationId, provider: about.provider, state: about.state });
  }

  #log(type: string, fields: Record<string, unknown>): void {
    this.#logger.warn({ security: true, event: type, requestId: currentRequestId(), ...fields }, type);
  }

  async #record(event: NewEvent): Promise<void> {
    try {
      await this.#events.record(event, this.#clock.now());
    } catch (error) {
      this.#logger.error({ security: true, event: event.type, requestId: currentRequestId(), err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'security event not recorded');
    }
  }

  #firstRefusalInWindow(key: string, windowSeconds: number): boolean {
    const now = this.#clock.now().getTime();
    const until = this.#refusalsOnRecord.get(key);
    if (until !== undefined && until > now) return false;
    if (this.#refusalsOnRecord.size >= MAX_REMEMBERED_REFUSALS) {
      for (const [k, u] of this.#refusalsOnRecord) if (u <= now) this.#refusalsOnRecord.delete(k);
      // Still full: forget everything rather than grow; at worst a few events repeat.
      if (this.#refusalsOnRecord.size >= MAX_REMEMBERED_REFUSALS) this.#refusalsOnRecord.clear();
    }
    this.#refusalsOnRecord.set(key, now + windowSeconds * 1000);
    return true;
  }
}
