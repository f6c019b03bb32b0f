import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SecurityEvents } from '../telemetry/security-events.ts';
import { isTerminal, lifetimeOver } from '../flows/engine.ts';
import { changeVersioned } from '../flows/versioned-change.ts';
import type { Clock } from '../kernel/clock.ts';
import { AppError, isAppError } from '../kernel/errors.ts';
import type { LimitCatalogue } from '../limits/catalogue.ts';
import { addressKey } from '../limits/client-address.ts';
import type { Limits } from '../limits/limits.ts';
import type { Db } from '../storage/db.ts';
import { EventsRepo } from '../storage/events-repo.ts';
import type { Sealer } from '../storage/sealer.ts';
import type { VerificationRecord, VerificationsRepo } from '../storage/verifications-repo.ts';
import { assuranceOf, type AssuranceElement } from './assurance.ts';
import type { InboundRequest, VerificationImages, VerificationProvider, VerificationResult, VerificationState } from './types.ts';
import { VERIFICATION, expiryMove, isOpen, outcomeState, type VerificationMove } from './verification-flow.ts';
import { VerificationStore, verificationEvent } from './verification-store.ts';
import { toView, type VerificationView } from './view.ts';

export { VERIFICATION } from './verification-flow.ts';
export type { AssuranceElement } from './assurance.ts';
export type { VerificationView } from './view.ts';

export interface VerificationEngineOptions {
  providers: Map<string, VerificationProvider>;
  /** Identity Assurance `trust_framework` per provider; the provider's name otherwise. */
  trustFrameworks?: Record<string, string>;
  /** Absolute base URL of this deployment (the issuer), for the URLs handed to vendors. */
  baseUrl: string;
  ttlSeconds?: number;
  /** The provider a caller gets when it names none. */
  defaultProvider?: string | undefined;
  /** Least time between two polls of a vendor for the same verification. */
  pollIntervalMs?: number;
  /** Days a finished verification keeps its images before the purge deletes them. */
  imageRetentionDays?: number;
}

export interface VerificationEngineDeps {
  db: Db;
  repo: VerificationsRepo;
  sealer: Sealer;
  clock: Clock;
  logger: Logger;
  /** Starts per client address and per client: a start may open a paid vendor session. */
  limits: { limits: Limits; catalogue: LimitCatalogue['verificationStart'] };
  /** Where a failed verification is reported (log line, metric); its event is the flow's own. */
  security?: SecurityEvents | undefined;
}

/** The ends that are failures (`verification.failed` in the catalogue); `expired` is its own. */
const FAILED_STATES: ReadonlySet<string> = new Set(['rejected', 'cancelled']);

/**
 * The verification engine: every verification's life, once. A provider adapter only talks
 * to its vendor; starting (within the start limits), deciding each move, expiry, polls and
 * webhooks are here. Moves run on the flow engine's executor against VERIFICATION
 * (src/flows/versioned-change.ts); how a move is written — row, images, event, wallet — is
 * VerificationStore's; the Identity Assurance element is assurance.ts's.
 */
export class VerificationEngine {
  readonly providers: ReadonlyMap<string, VerificationProvider>;
  readonly defaultProvider: string | undefined;
  readonly #deps: VerificationEngineDeps;
  readonly #trustFrameworks: Record<string, string>;
  readonly #baseUrl: string;
  readonly #ttlMs: number;
  readonly #pollIntervalMs: number;
  readonly #imageRetentionMs: number;
  readonly #listeners: ((view: VerificationView) => Promise<void>)[] = [];
  readonly #store: VerificationStore;

  constructor(deps: VerificationEngineDeps, options: VerificationEngineOptions) {
    this.#deps = deps;
    this.providers = options.providers;
    this.#trustFrameworks = options.trustFrameworks ?? {};
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#ttlMs = (options.ttlSeconds ?? VERIFICATION.ttlSeconds) * 1000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 10_000;
    this.#imageRetentionMs = (options.imageRetentionDays ?? 30) * 86_400_000;
    this.defaultProvider = options.defaultProvider ?? (options.providers.has('sandbox') ? 'sandbox' : [...options.providers.keys()][0]);
    this.#store = new VerificationStore({ ...deps, evidenceOf: (record) => this.assurance(toView(record)) as unknown as Record<string, unknown> });
  }

  /**
   * Creates the verification, asks the provider to start, returns where to send the person
   * (absolute URL or idflow path). Each start is counted, before the provider is asked,
   * against the address of the person's browser and against the client; beyond either
   * limit it is refused (`too_many_requests`) and no vendor session is opened.
   */
  async start(input: {
    provider: string;
    clientId?: string | undefined;
    userId?: string | undefined;
    flowId?: string | undefined;
    returnTo: string;
    locale?: string | undefined;
    /** The person's client address, as the HTTP layer determined it. */
    ip?: string | undefined;
  }): Promise<{ verification: VerificationView; next: string }> {
    const provider = this.providers.get(input.provider);
    if (!provider) throw new AppError('validation_failed', 'This verification provider is not available', { fields: [{ field: '/provider', message: 'is not a configured provider' }] });
    // Only a path on this deployment: a verification must never become an open redirect.
    if (!/^\/(?![/\\])[^\s]*$/.test(input.returnTo)) {
      throw new AppError('validation_failed', 'returnTo must be a path on this server', { fields: [{ field: '/returnTo', message: 'must start with a single /' }] });
    }
    const { limits, catalogue } = this.#deps.limits;
    const verdict = await limits.consume([
      ...(input.ip ? [{ limit: catalogue.perAddress, key: addressKey(input.ip) }] : []),
      ...(input.clientId ? [{ limit: catalogue.perClient, key: input.clientId }] : []),
    ], { clientId: input.clientId });
    if (!verdict.allowed) {
      this.#deps.logger.warn({ clientId: input.clientId, limit: verdict.limit, retryAfter: verdict.retryAfter }, 'verification.start_limited');
      throw new AppError('too_many_requests', 'Too many verifications were started; try again later', { retryAfter: verdict.retryAfter, detail: `limit ${verdict.limit}` });
    }
    const id = randomUUID();
    const started = await provider.start({ verificationId: id, returnUrl: `${this.#baseUrl}${this.returnPath(id)}`, locale: input.locale });
    const now = this.#deps.clock.now();
    const record = await this.#deps.db.transaction(async (tx) => {
      const inserted = await this.#deps.repo.on(tx).insert(
        {
          id,
          provider: provider.name,
          state: VERIFICATION.initial,
          clientId: input.clientId,
          userId: input.userId,
          flowId: input.flowId,
          returnTo: input.returnTo,
          providerRef: started.providerRef,
          expiresAt: new Date(now.getTime() + this.#ttlMs),
        },
        now,
      );
      await new EventsRepo(tx).record(verificationEvent('verification.created', inserted, { provider: provider.name }), now);
      return inserted;
    });
    return { verification: toView(record), next: started.kind === 'redirect' ? started.url : started.path };
  }

  async get(id: string): Promise<VerificationView | undefined> {
    const record = await this.#deps.repo.findById(id);
    return record ? toView(record) : undefined;
  }

  /** The provider's own step data (sealed at rest), for hosted providers such as the sandbox. */
  async providerData(id: string): Promise<Record<string, unknown> | undefined> {
    return (await this.#deps.repo.findById(id))?.providerData;
  }

  /** Sealed images (document front/back, face) while not deleted. */
  async images(id: string): Promise<VerificationImages | undefined> {
    return (await this.withImages(id))?.images;
  }

  /** The verification and, while its data is not deleted, its images: one read. */
  async withImages(id: string): Promise<{ view: VerificationView; images: VerificationImages | undefined } | undefined> {
    const found = await this.#deps.repo.findWithImages(id);
    if (!found) return undefined;
    return { view: toView(found.record), images: found.record.dataDeletedAt ? undefined : found.images };
  }

  /** The idflow path a vendor sends the person back to. */
  returnPath(id: string): string {
    return `/verification/${id}/return`;
  }

  /**
   * Records a final result (from a webhook, a poll or the sandbox pages); idempotent for
   * the same outcome. A rejection whose reasons are only `provider_timeout` settles as
   * `expired`, only `cancelled_by_person` as `cancelled`.
   */
  async settle(id: string, result: VerificationResult): Promise<VerificationView> {
    const to = outcomeState(result);
    return this.#change(id, (v) => {
      if (v.state === to) return undefined;
      this.#assertOpen(v, to);
      if (result.outcome === 'verified') {
        return {
          to,
          changes: {
            document: result.document,
            checks: result.checks,
            providerTxn: result.providerTxn,
            verifiedAt: result.verifiedAt,
            reasons: [],
            providerData: null,
          },
          images: result.images,
        };
      }
      return {
        to,
        changes: { reasons: [...new Set(result.reasons)], providerTxn: result.providerTxn ?? v.providerTxn, providerData: null },
        dropPersonalData: true,
      };
    });
  }

  /** A step the provider reported; ignored once the verification has settled (vendors' events may arrive late). */
  async progress(id: string, step: 'started' | 'submitted'): Promise<VerificationView> {
    const now = this.#deps.clock.now();
    return this.#change(id, (v) =>
      isOpen(v.state) && v.step !== step && !lifetimeOver(v, now) ? { to: 'in_progress', changes: { step }, event: 'verification.progress' } : undefined,
    );
  }

  /**
   * A hosted provider (the sandbox) records one of its steps: the images taken and what it
   * must remember for the next step, all or nothing.
   */
  async recordStep(id: string, input: { step: string; images?: VerificationImages; providerData?: Record<string, unknown> }): Promise<VerificationView> {
    return this.#change(id, (v) => {
      this.#assertOpen(v, 'in_progress');
      return {
        to: 'in_progress',
        changes: { step: input.step, ...(input.providerData ? { providerData: { ...v.providerData, ...input.providerData } } : {}) },
        ...(input.images ? { images: input.images } : {}),
        event: 'verification.progress',
      };
    });
  }

  /** The person cancelled → state cancelled, reason cancelled_by_person. */
  async cancel(id: string): Promise<VerificationView> {
    return this.settle(id, { outcome: 'rejected', reasons: ['cancelled_by_person'] });
  }

  /** Permanently deletes document details and images (the row keeps state, ids and times). */
  async deleteData(id: string): Promise<void> {
    const now = this.#deps.clock.now();
    await this.#deps.db.transaction(async (tx) => {
      const repo = this.#deps.repo.on(tx);
      const record = await repo.findById(id);
      if (!record) throw new AppError('not_found', 'No such verification');
      await repo.deleteData(id, now);
      await new EventsRepo(tx).record(verificationEvent('verification.data_deleted', record), now);
    });
  }

  /**
   * Deletes the images of every verification that ended longer ago than the retention
   * (the document read and the wallet's credentials stay); returns how many lost theirs.
   */
  async deleteImagesPastRetention(): Promise<number> {
    const endedBefore = new Date(this.#deps.clock.now().getTime() - this.#imageRetentionMs);
    let deleted = 0;
    for (;;) {
      const due = await this.#deps.repo.listWithImagesEndedBefore(endedBefore, 200);
      if (due.length === 0) return deleted;
      for (const record of due) {
        const now = this.#deps.clock.now();
        const gone = await this.#deps.db.transaction(async (tx) => {
          // Another node's purge may have been first: one event per deletion.
          if ((await this.#deps.repo.on(tx).deleteImages(record.id)) === 0) return false;
          await new EventsRepo(tx).record(verificationEvent('verification.images_deleted', record), now);
          return true;
        });
        if (gone) deleted++;
      }
    }
  }

  /** Marks verifications past their expiry as expired (provider timeout); returns how many. */
  async expireStale(): Promise<number> {
    let expired = 0;
    for (;;) {
      const stale = await this.#deps.repo.listStale(this.#deps.clock.now(), 200);
      if (stale.length === 0) return expired;
      for (const record of stale) {
        const before = record.state;
        const after = await this.#change(record.id, (v) => (isOpen(v.state) ? expiryMove() : undefined));
        if (after.state === 'expired' && before !== 'expired') expired++;
      }
    }
  }

  /**
   * Brings a pending verification up to date when someone looks at it: expires it when its
   * time is up, or asks the vendor for the result (a missed webhook), at most once per
   * poll interval across all nodes.
   */
  async refresh(id: string): Promise<VerificationView | undefined> {
    const record = await this.#deps.repo.findById(id);
    if (!record || !isOpen(record.state)) return record && toView(record);
    if (lifetimeOver(record, this.#deps.clock.now())) return this.#change(id, (v) => (isOpen(v.state) ? expiryMove() : undefined));
    const provider = this.providers.get(record.provider);
    if (!provider?.fetchResult || !record.providerRef) return toView(record);
    if (!(await this.#deps.repo.claimPoll(id, this.#deps.clock.now(), this.#pollIntervalMs))) return toView(record);
    try {
      const result = await provider.fetchResult(record.providerRef);
      return result ? await this.settle(id, result) : toView(record);
    } catch (error) {
      // A vendor that is down must not break the person's waiting page; the webhook or the next poll will do.
      this.#deps.logger.warn({ err: safeError(error), verificationId: id, provider: record.provider }, 'verification poll failed');
      return toView(record);
    }
  }

  /**
   * A vendor's webhook: the adapter checks the signature and reads the body; nothing
   * changes when it refuses. Returns the verification it concerned, or undefined for a
   * well-signed webhook about a session idflow did not start (another system sharing the
   * vendor account): acknowledged, so the vendor stops retrying, and ignored.
   */
  async handleWebhook(providerName: string, request: InboundRequest): Promise<VerificationView | undefined> {
    const provider = this.providers.get(providerName);
    if (!provider?.parseWebhook) throw new AppError('not_found', 'No such webhook');
    const event = await provider.parseWebhook(request);
    const record = await this.#deps.repo.findByProviderRef(provider.name, event.providerRef);
    if (!record) {
      this.#deps.logger.warn({ provider: provider.name }, 'webhook for a session idflow did not start; ignored');
      return undefined;
    }
    try {
      if (event.result) return await this.settle(record.id, await event.result());
      if (event.progress) return await this.progress(record.id, event.progress);
    } catch (error) {
      // Already over (a second decision after a review, or a result after the expiry):
      // the first outcome stands; acknowledging stops the vendor's retries.
      if (isAppError(error) && (error.code === 'invalid_transition' || error.code === 'flow_expired')) {
        this.#deps.logger.warn({ verificationId: record.id, provider: provider.name, code: error.code }, 'late webhook ignored');
        return this.refresh(record.id);
      }
      throw error;
    }
    return toView(record);
  }

  onSettled(listener: (view: VerificationView) => Promise<void>): void {
    this.#listeners.push(listener);
  }

  /** The OpenID Connect for Identity Assurance `verification` element for a verified view. */
  assurance(view: VerificationView): AssuranceElement {
    return assuranceOf(view, this.#trustFrameworks[view.provider] ?? view.provider);
  }

  /**
   * The one place a verification changes: decided on the current record (`decide` may
   * refuse by throwing), run by the flow engine's executor, which checks the move against
   * VERIFICATION and writes under the row's version; listeners hear of a final state.
   */
  async #change(id: string, decide: (v: VerificationRecord) => VerificationMove | undefined): Promise<VerificationView> {
    const { record, from, move } = await changeVersioned(VERIFICATION, this.#store.of(id), decide);
    const view = toView(record);
    if (move && move.to !== from && isTerminal(VERIFICATION, move.to)) {
      if (FAILED_STATES.has(move.to)) this.#deps.security?.verificationFailed({ clientId: view.clientId, verificationId: view.id, provider: view.provider, state: move.to, reasons: view.reasons ?? [] });
      await this.#notify(view);
    }
    return view;
  }

  #assertOpen(v: VerificationRecord, to: VerificationState): void {
    if (!isOpen(v.state)) throw new AppError('invalid_transition', `This verification cannot go from ${v.state} to ${to}`);
    if (lifetimeOver(v, this.#deps.clock.now())) throw new AppError('flow_expired', 'This verification has expired; start a new one');
  }

  async #notify(view: VerificationView): Promise<void> {
    for (const listener of this.#listeners) {
      try {
        await listener(view);
      } catch (error) {
        // The verification is settled and committed; a listener's failure is its own to report.
        this.#deps.logger.error({ err: safeError(error), verificationId: view.id }, 'verification listener failed');
      }
    }
  }
}

/** An error as logs may show it: its name, code and message, never a vendor's body. */
function safeError(error: unknown): Record<string, unknown> {
  if (isAppError(error)) return { code: error.code, message: error.message };
  return { name: (error as Error)?.name, message: (error as Error)?.message };
}
