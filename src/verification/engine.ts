import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { defineFlow, isTerminal } from '../flows/engine.ts';
import { credentialsFromDocument } from '../identity/credential-mapping.ts';
import { Wallet } from '../identity/wallet.ts';
import type { Clock } from '../kernel/clock.ts';
import { AppError, isAppError } from '../kernel/errors.ts';
import type { LimitCatalogue } from '../limits/catalogue.ts';
import { addressKey } from '../limits/client-address.ts';
import type { Limits } from '../limits/limits.ts';
import { ConsentsRepo } from '../storage/consents-repo.ts';
import { CredentialsRepo } from '../storage/credentials-repo.ts';
import type { Db, Queryable } from '../storage/db.ts';
import { EventsRepo } from '../storage/events-repo.ts';
import type { Sealer } from '../storage/sealer.ts';
import type { VerificationChanges, VerificationRecord, VerificationsRepo } from '../storage/verifications-repo.ts';
import type {
  CheckDetail,
  DocumentData,
  InboundRequest,
  RejectionReason,
  VerificationImages,
  VerificationProvider,
  VerificationResult,
  VerificationState,
} from './types.ts';

export interface VerificationView {
  id: string;
  state: VerificationState;
  provider: string;
  clientId: string | undefined;
  userId: string | undefined;
  flowId: string | undefined;
  returnTo: string;
  reasons: RejectionReason[];
  document: DocumentData | undefined;
  checks: CheckDetail[];
  providerTxn: string | undefined;
  verifiedAt: Date | undefined;
  createdAt: Date;
  expiresAt: Date;
  dataDeleted: boolean;
}

/** The Identity Assurance `verification` element (OpenID Connect for Identity Assurance 1.0). */
export interface AssuranceElement {
  trust_framework: string;
  time: string;
  verification_process: string;
  evidence: object[];
}

/**
 * The states of a verification and the only moves between them. A provider may answer
 * before the person was ever seen to start (a webhook with the decision), so every final
 * state is reachable from `created` as well as from `in_progress`.
 */
export const VERIFICATION = defineFlow<VerificationState>({
  kind: 'verification',
  initial: 'created',
  transitions: {
    created: ['in_progress', 'verified', 'rejected', 'expired', 'cancelled'],
    in_progress: ['verified', 'rejected', 'expired', 'cancelled'],
    verified: [],
    rejected: [],
    expired: [],
    cancelled: [],
  },
  ttlSeconds: 3600,
});

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
}

/** One change to one verification, decided by looking at its current record. */
interface Plan {
  to: VerificationState;
  changes?: Omit<VerificationChanges, 'state'>;
  images?: VerificationImages;
  /** Drop the images and the provider's step data (a verification that will not be verified keeps nothing personal). */
  dropPersonalData?: boolean;
  event?: string;
}

class VersionConflict extends Error {}

const OPEN: ReadonlySet<string> = new Set(['created', 'in_progress']);

/**
 * The verification engine: the one executor of every verification's state machine. A
 * provider adapter only talks to its vendor; starting, storing (sealed), moving between
 * states (checked against VERIFICATION, with optimistic concurrency), events, credentials
 * into the wallet and the Identity Assurance evidence are all here, once.
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

  constructor(deps: VerificationEngineDeps, options: VerificationEngineOptions) {
    this.#deps = deps;
    this.providers = options.providers;
    this.#trustFrameworks = options.trustFrameworks ?? {};
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#ttlMs = (options.ttlSeconds ?? VERIFICATION.ttlSeconds) * 1000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 10_000;
    this.#imageRetentionMs = (options.imageRetentionDays ?? 30) * 86_400_000;
    this.defaultProvider = options.defaultProvider ?? (options.providers.has('sandbox') ? 'sandbox' : [...options.providers.keys()][0]);
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
    ]);
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
      await new EventsRepo(tx).record(this.#event('verification.created', inserted, { provider: provider.name }), now);
      return inserted;
    });
    return { verification: this.#view(record), next: started.kind === 'redirect' ? started.url : started.path };
  }

  async get(id: string): Promise<VerificationView | undefined> {
    const record = await this.#deps.repo.findById(id);
    return record ? this.#view(record) : undefined;
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
    return { view: this.#view(found.record), images: found.record.dataDeletedAt ? undefined : found.images };
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
      OPEN.has(v.state) && v.step !== step && v.expiresAt > now ? { to: 'in_progress', changes: { step }, event: 'verification.progress' } : undefined,
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
      await new EventsRepo(tx).record(this.#event('verification.data_deleted', record), now);
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
          await new EventsRepo(tx).record(this.#event('verification.images_deleted', record), now);
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
        const after = await this.#change(record.id, (v) => (OPEN.has(v.state) ? expiryPlan() : undefined));
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
    if (!record || !OPEN.has(record.state)) return record && this.#view(record);
    if (record.expiresAt <= this.#deps.clock.now()) return this.#change(id, (v) => (OPEN.has(v.state) ? expiryPlan() : undefined));
    const provider = this.providers.get(record.provider);
    if (!provider?.fetchResult || !record.providerRef) return this.#view(record);
    if (!(await this.#deps.repo.claimPoll(id, this.#deps.clock.now(), this.#pollIntervalMs))) return this.#view(record);
    try {
      const result = await provider.fetchResult(record.providerRef);
      return result ? await this.settle(id, result) : this.#view(record);
    } catch (error) {
      // A vendor that is down must not break the person's waiting page; the webhook or the next poll will do.
      this.#deps.logger.warn({ err: safeError(error), verificationId: id, provider: record.provider }, 'verification poll failed');
      return this.#view(record);
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
    return this.#view(record);
  }

  onSettled(listener: (view: VerificationView) => Promise<void>): void {
    this.#listeners.push(listener);
  }

  /** The OpenID Connect for Identity Assurance `verification` element for a verified view. */
  assurance(view: VerificationView): AssuranceElement {
    const time = isoSeconds(view.verifiedAt ?? view.createdAt);
    const doc = view.document;
    const evidence: Record<string, unknown> = {
      type: 'document',
      // Unsupervised remote proofing: document images, a self-portrait and a liveness check.
      method: 'uripp',
      time,
      ...(doc
        ? {
            document_details: {
              type: doc.documentType,
              document_number: doc.documentNumber,
              ...(doc.dateOfIssue ? { date_of_issuance: doc.dateOfIssue } : {}),
              date_of_expiry: doc.dateOfExpiry,
              issuer: { country_code: doc.issuingCountry },
            },
          }
        : {}),
      check_details: view.checks,
    };
    return {
      trust_framework: this.#trustFrameworks[view.provider] ?? view.provider,
      time,
      verification_process: view.id,
      evidence: [evidence],
    };
  }

  /**
   * The one place a verification changes: read, decide (`plan`, which may refuse by
   * throwing), check the move against VERIFICATION, then write the row, its images, its
   * event and the wallet in one transaction under the row's version. When another request
   * won the race, decide again on what it wrote.
   */
  async #change(id: string, plan: (v: VerificationRecord) => Plan | undefined): Promise<VerificationView> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.#deps.repo.findById(id);
      if (!current) throw new AppError('not_found', 'No such verification');
      const decided = plan(current);
      if (!decided) return this.#view(current);
      const from = current.state as VerificationState;
      if (decided.to !== from && !VERIFICATION.transitions[from].includes(decided.to)) {
        throw new AppError('invalid_transition', `This verification cannot go from ${from} to ${decided.to}`);
      }
      try {
        const updated = await this.#write(current, decided);
        const view = this.#view(updated);
        if (decided.to !== from && isTerminal(VERIFICATION, decided.to)) await this.#notify(view);
        return view;
      } catch (error) {
        if (!(error instanceof VersionConflict)) throw error;
      }
    }
    throw new AppError('flow_conflict', 'The verification was changed by another request; try again');
  }

  async #write(current: VerificationRecord, plan: Plan): Promise<VerificationRecord> {
    const now = this.#deps.clock.now();
    return this.#deps.db.transaction(async (tx) => {
      const repo = this.#deps.repo.on(tx);
      const ends = plan.to !== current.state && isTerminal(VERIFICATION, plan.to);
      const updated = await repo.update(current, { ...plan.changes, state: plan.to, ...(ends ? { endedAt: now } : {}) }, now);
      if (!updated) throw new VersionConflict();
      if (plan.images) await repo.putImages(updated.id, plan.images, now);
      if (plan.dropPersonalData) await repo.deleteImages(updated.id);
      if (plan.to !== current.state || plan.event) {
        await new EventsRepo(tx).record(
          this.#event(plan.event ?? `verification.${plan.to}`, updated, {
            from: current.state,
            to: plan.to,
            ...(updated.step ? { step: updated.step } : {}),
            ...(plan.to === 'rejected' || plan.to === 'expired' || plan.to === 'cancelled' ? { reasons: updated.reasons } : {}),
          }),
          now,
        );
      }
      if (plan.to === 'verified' && current.state !== 'verified' && updated.userId && updated.document) {
        await this.#walletOn(tx).add(
          updated.userId,
          credentialsFromDocument(updated.document, { verificationId: updated.id, sourceClientId: updated.clientId, evidence: this.assurance(this.#view(updated)) as unknown as Record<string, unknown> }),
        );
      }
      return updated;
    });
  }

  #walletOn(tx: Queryable): Wallet {
    const { sealer, clock } = this.#deps;
    return new Wallet(new CredentialsRepo(tx, sealer), new ConsentsRepo(tx), new EventsRepo(tx), clock);
  }

  #assertOpen(v: VerificationRecord, to: VerificationState): void {
    if (!OPEN.has(v.state)) throw new AppError('invalid_transition', `This verification cannot go from ${v.state} to ${to}`);
    if (v.expiresAt <= this.#deps.clock.now()) throw new AppError('flow_expired', 'This verification has expired; start a new one');
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

  #event(type: string, v: VerificationRecord, payload: Record<string, unknown> = {}) {
    // Ids, states and reason codes only: never a name, a number or an image.
    return { type, clientId: v.clientId, userId: v.userId, flowId: v.flowId, payload: { verificationId: v.id, provider: v.provider, ...payload } };
  }

  #view(v: VerificationRecord): VerificationView {
    return {
      id: v.id,
      state: v.state as VerificationState,
      provider: v.provider,
      clientId: v.clientId,
      userId: v.userId,
      flowId: v.flowId,
      returnTo: v.returnTo,
      reasons: v.reasons,
      document: v.state === 'verified' && !v.dataDeletedAt ? v.document : undefined,
      checks: v.checks,
      providerTxn: v.providerTxn,
      verifiedAt: v.verifiedAt,
      createdAt: v.createdAt,
      expiresAt: v.expiresAt,
      dataDeleted: v.dataDeletedAt !== undefined,
    };
  }
}

function outcomeState(result: VerificationResult): VerificationState {
  if (result.outcome === 'verified') return 'verified';
  const reasons = new Set(result.reasons);
  if (reasons.size === 1 && reasons.has('provider_timeout')) return 'expired';
  if (reasons.size === 1 && reasons.has('cancelled_by_person')) return 'cancelled';
  return 'rejected';
}

function expiryPlan(): Plan {
  return { to: 'expired', changes: { reasons: ['provider_timeout'], providerData: null }, dropPersonalData: true };
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An error as logs may show it: its name, code and message, never a vendor's body. */
function safeError(error: unknown): Record<string, unknown> {
  if (isAppError(error)) return { code: error.code, message: error.message };
  return { name: (error as Error)?.name, message: (error as Error)?.message };
}
