import type { Logger } from 'pino';
import type { SecurityEvents } from '../telemetry/security-events.ts';
import { Codes } from '../codes/codes.ts';
import { FlowEngine, type Flow } from '../flows/engine.ts';
import type { Consents } from '../consent/consents.ts';
import type { Clock } from '../kernel/clock.ts';
import { isAppError } from '../kernel/errors.ts';
import { randomToken } from '../kernel/ids.ts';
import { constantTimeEqual, hashSecret } from '../kernel/secrets.ts';
import type { ClientRecord, ClientsRepo } from '../storage/clients-repo.ts';
import { CodesRepo } from '../storage/codes-repo.ts';
import type { Db, Queryable } from '../storage/db.ts';
import { eventOfRows } from '../storage/events-repo.ts';
import { FlowsRepo } from '../storage/flows-repo.ts';
import type { Sealer } from '../storage/sealer.ts';
import type { VerificationView } from '../verification/engine.ts';
import type { DocumentData, VerificationImages } from '../verification/types.ts';
import type { VerificationPort } from './verification-port.ts';
import { checkAuthorizeRequest, redirectWith, type FatalReason } from './web-kyc-request.ts';
import { webKycSettings } from './web-kyc-settings.ts';
import {
  INTRO_TTL_SECONDS,
  WEB_KYC_PAGES,
  continuePath,
  webKycCode,
  webKycFlow,
  webKycToken,
  type WebKycContext,
  type WebKycData,
  type WebKycState,
} from './web-kyc-flow.ts';

export interface WebKycDeps {
  db: Db;
  sealer: Sealer;
  clients: ClientsRepo;
  verification: VerificationPort;
  clock: Clock;
  logger: Logger;
  /** The platform's key for form tokens (the flow engine binds forms with it). */
  formKey: Buffer;
  /** http://localhost redirect and back URLs are accepted only while developing. */
  allowInsecureLoopback: boolean;
  consents: Consents;
  /** Where a code used twice is reported (src/codes/). */
  security?: SecurityEvents | undefined;
}

type WebKycFlow = Flow<WebKycData, WebKycState> & { context: WebKycContext };

/** What a person's browser sees of a flow: enough for the hosted pages, nothing personal. */
export interface WebKycPageView {
  flowId: string;
  state: WebKycState;
  clientName: string;
  backUrl: string | undefined;
  /** Where the flow's forms may end (the client's checked redirect_uri). */
  redirectUri: string;
  /** Why a failed flow failed (a verification reason code, `cancelled_by_person`, `expired`). */
  failure: string | undefined;
}

export type AuthorizeOutcome =
  | { kind: 'fatal'; reason: FatalReason }
  | { kind: 'redirect'; location: string }
  /** The flow is bound to this browser: `browserSecret` is for its cookie. */
  | { kind: 'started'; page: WebKycPageView; browserSecret: string };

/** What the person's browser presents: the flow's browser secret (its cookie) and, with a form, the form's token. */
export interface FromBrowser {
  browserSecret: string | undefined;
  csrf?: unknown;
}

export type ResumeOutcome =
  | { kind: 'unknown' }
  /** The flow was opened in another browser; only that one may go on with it. */
  | { kind: 'other_browser' }
  /** Send the browser back to the operator (with a code, or an error). */
  | { kind: 'redirect'; location: string }
  /** The result is not in yet (awaited since `since`): show a page that looks again shortly, its form (stop waiting) carrying `formToken`. */
  | { kind: 'waiting'; page: WebKycPageView; since: Date; formToken: string }
  /** The person has not started the verification yet: show the introduction, its forms carrying `formToken`. */
  | { kind: 'intro'; page: WebKycPageView; formToken: string }
  /** Already handed back to the operator (a reload, a second tab). */
  | { kind: 'finished'; page: WebKycPageView; verified: boolean };

export type ExchangeOutcome =
  | { ok: true; token: string; expiresAt: Date }
  | { ok: false; problem: 'invalid_client' | 'invalid_code' | 'code_reused' | 'redirect_uri_mismatch' };

export interface WebKycDetails {
  document: DocumentData;
  images: VerificationImages;
}

const PURGE_BATCH = 200;

/** The stores Web KYC writes, on the database or inside one transaction. */
interface Stores {
  flows: FlowEngine;
  flowsRepo: FlowsRepo;
  codes: Codes;
}

/**
 * Web KYC: an operator sends a person to verify their identity (OAuth 2.0 authorization
 * code flow, Authenteq's shape); idflow runs the verification, hands the operator a code,
 * the code becomes a token, the token reads the verified details for 15 minutes, then the
 * details and images are deleted. Every rule of that lives here; the Authenteq facade only
 * translates shapes. Codes and tokens are the platform's (src/codes/); the flow's expiry is
 * the hand-over's: when it passes, the purge deletes the verification's data with the flow.
 */
export class WebKyc {
  readonly #base: WebKycDeps;
  readonly #d: WebKycDeps & Stores;

  constructor(deps: WebKycDeps) {
    this.#base = deps;
    this.#d = { ...deps, ...this.#on(deps.db) };
    deps.verification.onSettled((view) => this.#onSettled(view));
  }

  #on(q: Queryable): Stores {
    const flowsRepo = new FlowsRepo(q, this.#base.sealer);
    return { flows: new FlowEngine(flowsRepo, this.#base.clock, this.#base.formKey), flowsRepo, codes: new Codes(new CodesRepo(q), this.#base.sealer, this.#base.clock, this.#base.security) };
  }

  /** The changes of one step together: one commit (one WAL flush), all or nothing. */
  #inTransaction<T>(fn: (stores: Stores) => Promise<T>): Promise<T> {
    return this.#d.db.transaction((tx) => fn(this.#on(tx)));
  }

  /** Checks the operator's request and, when it is good, opens the flow (the person then sees the introduction). */
  async authorize(query: Record<string, unknown>): Promise<AuthorizeOutcome> {
    const check = await checkAuthorizeRequest(query, (id) => this.#d.clients.findById(id), { allowInsecureLoopback: this.#d.allowInsecureLoopback });
    if (check.kind === 'fatal') return check;
    if (check.kind === 'redirect_error') {
      return { kind: 'redirect', location: redirectWith(check.redirectUri, { error: check.error, error_description: check.description, state: check.state }) };
    }
    const flow = (await this.#d.flows.start(webKycFlow, {
      clientId: check.client.clientId,
      data: check.request satisfies WebKycData,
      context: { provider: check.settings.provider } satisfies WebKycContext,
      ttlSeconds: INTRO_TTL_SECONDS,
      bindBrowser: true,
    })) as WebKycFlow & { browserSecret: string };
    return { kind: 'started', page: pageView(flow, check.client), browserSecret: flow.browserSecret };
  }

  /**
   * The person chose to start: the verification begins; returns where to send them. Beyond
   * the start limits (per client address, per client) no vendor session is opened and the
   * operator hears `temporarily_unavailable` (RFC 6749 §4.1.2.1).
   */
  async begin(flowId: string, ip: string, from: FromBrowser): Promise<ResumeOutcome | { kind: 'verification'; next: string }> {
    const { flow, refused } = await this.#find(flowId, from);
    if (refused) return refused;
    if (flow.state !== 'created') return this.#resume(flow);
    let started: Awaited<ReturnType<VerificationPort['start']>>;
    try {
      started = await this.#d.verification.start({ provider: flow.context.provider, clientId: flow.clientId, flowId: flow.id, returnTo: continuePath(flow.id), ip });
    } catch (error) {
      // The client names a provider this deployment does not offer: the operator must hear of it.
      if (isAppError(error) && error.code === 'validation_failed') return this.#fail(flow, 'provider_unavailable', 'server_error');
      if (isAppError(error) && error.code === 'too_many_requests') return this.#fail(flow, 'too_many_requests', 'temporarily_unavailable');
      throw error;
    }
    const { verification, next } = started;
    try {
      await this.#d.flows.transition(webKycFlow, flow, 'verifying', { context: { ...flow.context, verificationId: verification.id }, ttlSeconds: webKycFlow.ttlSeconds });
    } catch (error) {
      // Another tab started first: this verification is not the flow's; keep nothing of it.
      if (isAppError(error) && error.code === 'flow_conflict') {
        await this.#d.verification.cancel(verification.id).catch(() => {});
        return this.#again(flowId);
      }
      throw error;
    }
    return { kind: 'verification', next };
  }

  /**
   * The person declined on the introduction page, or stopped waiting for the result: the
   * verification stops (unless its result came in meanwhile, which then goes on as usual).
   */
  async cancel(flowId: string, from: FromBrowser): Promise<ResumeOutcome> {
    const { flow, refused } = await this.#find(flowId, from);
    if (refused) return refused;
    if (flow.state === 'verifying') {
      try {
        await this.#d.verification.cancel(flow.context.verificationId!);
      } catch (error) {
        if (isAppError(error) && ['invalid_transition', 'flow_expired', 'flow_conflict', 'not_found'].includes(error.code)) return this.#again(flowId);
        throw error;
      }
    } else if (flow.state !== 'created') return this.#resume(flow);
    return this.#fail(flow, 'cancelled_by_person');
  }

  /**
   * The browser is back from the verification (or reloads the waiting page): a verified
   * person goes back to the operator with a code, a failed one with `access_denied` and
   * the reason code; a pending one waits.
   */
  async resume(flowId: string, from: FromBrowser): Promise<ResumeOutcome> {
    const { flow, refused } = await this.#find(flowId, from);
    return refused ?? this.#resume(flow);
  }

  async #resume(flow: WebKycFlow): Promise<ResumeOutcome> {
    const client = await this.#d.clients.findById(flow.clientId!);
    switch (flow.state) {
      case 'created':
        return { kind: 'intro', page: pageView(flow, client), formToken: this.#d.flows.formToken(flow) };
      case 'expired':
        // Every visit of an introduction the person let lapse says so to the operator.
        return { kind: 'redirect', location: redirectWith(flow.data.redirectUri, { error: 'access_denied', error_description: 'expired', state: flow.data.state }) };
      case 'verifying':
        break;
      default:
        return { kind: 'finished', page: pageView(flow, client), verified: flow.state !== 'failed' };
    }
    const verification = await this.#d.verification.refresh(flow.context.verificationId!);
    // The verification is gone (purged): nothing can come of this flow any more.
    if (!verification) return this.#fail(flow, 'expired');
    switch (verification.state) {
      case 'verified':
        return this.#issueCode(flow);
      case 'rejected':
      case 'cancelled':
      case 'expired':
        return this.#fail(flow, verification.reasons[0] ?? (verification.state === 'cancelled' ? 'cancelled_by_person' : 'provider_timeout'));
      default:
        // Still pending when the flow's time is up (the engine's reading): the person waited long enough.
        return flow.expired ? this.#fail(flow, 'expired') : { kind: 'waiting', page: pageView(flow, client), since: verification.updatedAt, formToken: this.#d.flows.formToken(flow) };
    }
  }

  /**
   * The operator's backend exchanges the code for a token. The client authenticates with
   * its secret (compared in constant time, against the stored hash); the code must be
   * unused, unexpired, this client's, and come with the redirect URI it was issued for. A
   * code presented a second time is refused and the token from the first exchange revoked
   * (RFC 6749 §4.1.2), with the details deleted at once.
   */
  async exchange(input: { clientId: string; clientSecret: string; code: string; redirectUri: string }): Promise<ExchangeOutcome> {
    // The operator's backend calls this for every person: the client as read within the last second will do.
    const client = await this.#d.clients.findRecent(input.clientId);
    const presented = hashSecret(input.clientSecret);
    // Compare even when there is no client, so timing does not tell which client ids exist.
    const secretOk = constantTimeEqual(presented, client?.secretHash ?? hashSecret(randomToken(16)));
    if (!client || !secretOk || !client.secretHash || !webKycSettings(client)) return { ok: false, problem: 'invalid_client' };

    const now = this.#d.clock.now();
    // Using the code, writing the token and moving the flow on are one statement: they commit together.
    const redeemed = await this.#d.codes.redeem(
      webKycCode,
      { value: input.code, clientId: client.clientId, binding: input.redirectUri },
      {
        issue: webKycToken,
        also: ({ expiresAt }) => this.#d.flows.moveWith(webKycFlow, 'code_issued', 'exchanged', { expiresAt }),
        onReuse: this.#d.flows.moveWith(webKycFlow, 'exchanged', 'revoked', { expiresAt: now }, { type: 'web_kyc.revoked', payload: { reason: 'code_reused' } }),
      },
    );
    if (redeemed.ok) return { ok: true, token: redeemed.issued!.value, expiresAt: redeemed.issued!.expiresAt };
    switch (redeemed.problem) {
      case 'reused':
        // The token is revoked and the flow due now; the details go at once, not with the purge.
        if (redeemed.holder?.subject) await this.#deleteVerificationData(redeemed.holder.subject);
        return { ok: false, problem: 'code_reused' };
      case 'binding_mismatch':
        return { ok: false, problem: 'redirect_uri_mismatch' };
      default:
        return { ok: false, problem: 'invalid_code' };
    }
  }

  /** The verified details and document images a live token gives access to; undefined for any other token. */
  async details(token: string): Promise<WebKycDetails | undefined> {
    const now = this.#d.clock.now();
    // Each read is recorded, in the statement that reads the token.
    const holder = await this.#d.codes.read(webKycToken, token, (rows, first) => eventOfRows(rows, { type: 'web_kyc.details_shared' }, now, first));
    if (!holder?.subject) return undefined;
    const found = await this.#d.verification.withImages(holder.subject);
    if (!found || found.view.state !== 'verified' || !found.view.document || !found.images) return undefined;
    const details = { document: found.view.document, images: found.images };
    await this.#d.consents.record({ door: 'web_kyc', clientId: holder.clientId, userId: found.view.userId, shared: handedOver(details), flowId: holder.flowId, verificationId: holder.subject });
    return details;
  }

  /**
   * Deletes the flows that expired by `now`: first their verification's details and images
   * (through the engine), then the flow, its codes and tokens with it. Returns how many
   * hand-overs (flows with a verification) went. Safe to run on several nodes at once; runs
   * before the generic purge of expired flows, with the same `now`, so no flow with a
   * verification is deleted before its data.
   */
  async purge(now: Date = this.#d.clock.now()): Promise<number> {
    let purged = 0;
    for (;;) {
      const due = await this.#d.flowsRepo.expiredOfKind(webKycFlow.kind, now, PURGE_BATCH);
      for (const flow of due) {
        const verificationId = flow.context.verificationId;
        if (typeof verificationId === 'string') {
          await this.#deleteVerificationData(verificationId);
          purged++;
        }
        await this.#d.flowsRepo.delete(flow.id);
      }
      if (due.length < PURGE_BATCH) return purged;
    }
  }

  async #issueCode(flow: WebKycFlow): Promise<ResumeOutcome> {
    let code: string;
    try {
      // The transition is the lock: of two tabs coming back at once, one issues the code (the
      // other's rolls back). The flow now lives as long as the code.
      code = await this.#inTransaction(async ({ flows, codes }) => {
        const issued = await codes.issue(webKycCode, { flowId: flow.id, clientId: flow.clientId!, subject: flow.context.verificationId, binding: flow.data.redirectUri });
        await flows.transition(webKycFlow, flow, 'code_issued', { expiresAt: issued.expiresAt });
        return issued.value;
      });
    } catch (error) {
      if (isAppError(error) && error.code === 'flow_conflict') return this.#again(flow.id);
      throw error;
    }
    return { kind: 'redirect', location: redirectWith(flow.data.redirectUri, { code, state: flow.data.state }) };
  }

  async #fail(flow: WebKycFlow, reason: string, error: 'access_denied' | 'server_error' | 'temporarily_unavailable' = 'access_denied'): Promise<ResumeOutcome> {
    // Nothing is handed out for a failed verification: whatever it kept goes with the next purge.
    const expiresAt = flow.context.verificationId ? this.#d.clock.now() : undefined;
    try {
      await this.#d.flows.transition(webKycFlow, flow, 'failed', { context: { ...flow.context, reason }, ...(expiresAt ? { expiresAt } : {}) }, { payload: { reason } });
    } catch (error) {
      if (isAppError(error) && error.code === 'flow_conflict') return this.#again(flow.id);
      throw error;
    }
    return { kind: 'redirect', location: redirectWith(flow.data.redirectUri, { error, error_description: reason, state: flow.data.state }) };
  }

  async #deleteVerificationData(verificationId: string): Promise<void> {
    try {
      await this.#d.verification.deleteData(verificationId);
    } catch (error) {
      if (isAppError(error) && error.code === 'not_found') return;
      throw error;
    }
  }

  /**
   * A verification of a Web KYC flow settled. When it failed there is nothing to hand out;
   * when its flow is already gone (purged while the vendor was still deciding) the data it
   * just received must not stay.
   */
  async #onSettled(view: VerificationView): Promise<void> {
    if (!view.returnTo.startsWith(`${WEB_KYC_PAGES}/`)) return;
    const flow = view.flowId ? await this.#flow(view.flowId) : undefined;
    if (!flow || flow.context.verificationId !== view.id) {
      await this.#deleteVerificationData(view.id);
      return;
    }
    if (view.state === 'verified' || flow.state !== 'verifying') return;
    try {
      // Due at once, as a failed flow is; the person coming back still learns why while it stays.
      await this.#d.flows.transition(webKycFlow, flow, 'verifying', { expiresAt: this.#d.clock.now() });
    } catch (error) {
      // The person came back meanwhile: the flow failed, and is due already.
      if (!(isAppError(error) && error.code === 'flow_conflict')) throw error;
    }
  }

  /**
   * The flow, for the browser bound to it (the flow engine's binding) and, with a form, for
   * the form of its pages; its expiry is the engine's (a lapsed flow reads as `expired`).
   */
  async #find(flowId: string, from: FromBrowser): Promise<{ flow: WebKycFlow; refused?: undefined } | { flow?: undefined; refused: ResumeOutcome }> {
    const flow = await this.#flow(flowId);
    if (!flow) return { refused: { kind: 'unknown' } };
    const allowed = 'csrf' in from ? this.#d.flows.checkForm(flow, { csrf: from.csrf, browserSecret: from.browserSecret }) === 'ok' : this.#d.flows.isBrowserOf(flow, from.browserSecret);
    return allowed ? { flow } : { refused: { kind: 'other_browser' } };
  }

  /** Another request of the same browser moved the flow first: answer from where it is now. */
  async #again(flowId: string): Promise<ResumeOutcome> {
    const flow = await this.#flow(flowId);
    return flow ? this.#resume(flow) : { kind: 'unknown' };
  }

  async #flow(flowId: string): Promise<WebKycFlow | undefined> {
    return (await this.#d.flows.find<WebKycState, WebKycData>(webKycFlow, flowId)) as WebKycFlow | undefined;
  }
}

function pageView(flow: WebKycFlow, client: ClientRecord | undefined): WebKycPageView {
  return {
    flowId: flow.id,
    state: flow.state,
    clientName: client?.name ?? flow.clientId ?? '',
    backUrl: flow.data.backUrl,
    redirectUri: flow.data.redirectUri,
    failure: flow.context.reason,
  };
}

/** What the details hand the operator, by name: the document's fields and its two images (the face stays). */
function handedOver({ document, images }: WebKycDetails): string[] {
  const fields = Object.entries(document).flatMap(([field, value]) => (value === undefined ? [] : [field]));
  return [...fields, ...(['documentFront', 'documentBack'] as const).filter((image) => images[image])];
}
