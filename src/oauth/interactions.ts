import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Consents } from '../consent/consents.ts';
import type { OAuthEngine } from './engine.ts';
import { VERIFICATION_PROMPT, type VerificationStepResult } from './verification-step.ts';
import { SCOPE_CLAIMS } from './scopes.ts';

/** What a login or consent page needs to know, free of oidc-provider types. */
export interface InteractionView {
  uid: string;
  prompt: 'login' | 'verification' | 'consent';
  clientId: string;
  clientName: string;
  /** Where the engine sends the browser once the pages are done (checked against the client's registered URIs). */
  redirectUri: string;
  /** Scopes the person is asked to grant (consent), in the order requested. */
  scopes: string[];
  claims: string[];
  loginHint: string | undefined;
  accountId: string | undefined;
  /** The verification this interaction's verification step started, if any. */
  verificationId: string | undefined;
}

/**
 * The hosted pages' side of the authorization code flow. The pages (src/http/interaction-routes.ts)
 * render and validate; these functions read and finish the engine's interaction.
 */
export class Interactions {
  readonly #engine: OAuthEngine;
  readonly #consents: Consents;

  constructor(engine: OAuthEngine, consents: Consents) {
    this.#engine = engine;
    this.#consents = consents;
  }

  /** The interaction bound to this browser, or undefined when it is unknown or expired. */
  async view(req: IncomingMessage, res: ServerResponse): Promise<InteractionView | undefined> {
    const provider = this.#engine.provider;
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      return undefined;
    }
    const clientId = String(details.params.client_id);
    const client = await provider.Client.find(clientId);
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    const step = details.result?.[VERIFICATION_PROMPT] as VerificationStepResult | undefined;
    return {
      uid: details.uid,
      prompt: details.prompt.name === 'login' ? 'login' : details.prompt.name === VERIFICATION_PROMPT ? 'verification' : 'consent',
      clientId,
      clientName: client?.clientName ?? clientId,
      redirectUri: String(details.params.redirect_uri),
      scopes: missing.missingOIDCScope ?? [],
      claims: missing.missingOIDCClaims ?? [],
      loginHint: typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined,
      accountId: details.session?.accountId,
      verificationId: step?.verificationId,
    };
  }

  /** Remembers the verification the step started, without leaving the step. */
  async verificationStarted(req: IncomingMessage, res: ServerResponse, verificationId: string): Promise<void> {
    await this.#stepResult(req, res, { verificationId, settled: false });
  }

  /** The step's verification is over: the authorization goes on (to consent); returns where the browser goes next. */
  verificationSettled(req: IncomingMessage, res: ServerResponse, verificationId: string): Promise<string> {
    return this.#stepResult(req, res, { verificationId, settled: true });
  }

  #stepResult(req: IncomingMessage, res: ServerResponse, result: VerificationStepResult): Promise<string> {
    return this.#engine.provider.interactionResult(req, res, { [VERIFICATION_PROMPT]: result }, { mergeWithLastSubmission: true });
  }

  /** Records who signed in; returns where the browser goes next. */
  async finishLogin(req: IncomingMessage, res: ServerResponse, accountId: string): Promise<string> {
    return this.#engine.provider.interactionResult(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
  }

  /** Grants what the consent page showed; returns where the browser goes next. */
  async grantConsent(req: IncomingMessage, res: ServerResponse): Promise<string> {
    const provider = this.#engine.provider;
    const details = await provider.interactionDetails(req, res);
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
    // The grant this consent would add to ended while the page was open (it expired; a revoked
    // one takes its interaction along): what the person agreed to before is gone, so the
    // client is told access_denied at its redirect_uri and may ask again from the start.
    if (!grant) return this.#refuse(req, res, 'The earlier authorization ended while consent was pending');
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    // The person's agreement is the hand-over: from here the client reads these claims (ID
    // token, userinfo, refreshed tokens) until the grant ends, without asking again.
    const claims = (missing.missingOIDCScope ?? []).flatMap((scope) => SCOPE_CLAIMS[scope] ?? []);
    await this.#consents.record({ door: 'oidc', clientId: grant.clientId!, userId: grant.accountId, shared: [...claims, ...(missing.missingOIDCClaims ?? [])] });
    return provider.interactionResult(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
  }

  /** The person declined: the client receives access_denied. */
  async deny(req: IncomingMessage, res: ServerResponse): Promise<string> {
    return this.#refuse(req, res, 'The person declined the request');
  }

  /** Ends the interaction with access_denied, sent to the client's redirect_uri. */
  #refuse(req: IncomingMessage, res: ServerResponse, description: string): Promise<string> {
    return this.#engine.provider.interactionResult(req, res, { error: 'access_denied', error_description: description }, { mergeWithLastSubmission: false });
  }
}
