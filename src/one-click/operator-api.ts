import { randomUUID } from 'node:crypto';
import type { OneClickTitle } from './brand.ts';
import { registeredRedirect, type RedirectRules } from '../redirects/redirect-policy.ts';
import { OneClickCodes, CODE_LIFETIME_SECONDS } from './codes.ts';
import { documentedDefaults, duplicateType, normalizeRequests, type CredentialRequest } from './credential-requests.ts';
import type { OneClickEntity } from './entity.ts';
import { OneClickError } from './errors.ts';
import { oneClickFlow, type OneClickContext, type OneClickData, type OneClickFlow } from './flow.ts';
import { checkBirthDate, checkEmail, checkSsn4, given, oneClickPhone } from './inputs.ts';
import type { LookupAndShare } from './lookup-and-share.ts';
import type { OneClickCaller, OneClickRequests } from './requests.ts';
import type { AdditionalInputs } from './sources/source.ts';

export interface StartInput {
  phone?: string | null | undefined;
  email?: string | null | undefined;
  birthDate?: string | null | undefined;
  ssn4?: string | null | undefined;
  credentialRequests?: CredentialRequest[] | undefined;
  content?: { title?: OneClickTitle | undefined; description?: string | undefined } | undefined;
  redirectUrl?: string | undefined;
}

export type StartResult =
  | { integration: 'hosted'; uuid: string; url: string; code: string }
  | { integration: 'semi_hosted'; uuid: string; code: string }
  | { integration: 'non_hosted'; uuid: string; identity: OneClickEntity };

/** The operator's side of 1-Click: POST, GET and PATCH /1-click, in the core's terms. */
export class OperatorApi {
  readonly #requests: OneClickRequests;
  readonly #codes: OneClickCodes;
  readonly #lookup: LookupAndShare;

  constructor(requests: OneClickRequests, codes: OneClickCodes, lookup: LookupAndShare) {
    this.#requests = requests;
    this.#codes = codes;
    this.#lookup = lookup;
  }

  async start(caller: OneClickCaller, input: StartInput): Promise<StartResult> {
    const requests = this.#requests;
    const { brand } = caller;
    const rawPhone = given(input.phone);
    if (rawPhone === undefined) throw new OneClickError(given(input.email) === undefined ? 'identifier_required' : 'unsupported_phone');
    const phone = oneClickPhone(rawPhone, brand.environment);
    const email = checkEmail(given(input.email));
    const birthDate = checkBirthDate(given(input.birthDate));
    const ssn4 = checkSsn4(given(input.ssn4));
    const requested = input.credentialRequests?.length ? input.credentialRequests : (brand.default_credential_requests ?? documentedDefaults(brand.integration));
    const duplicate = duplicateType(requested);
    if (duplicate) throw new OneClickError('invalid_input', { explanation: `credentialRequests asks for ${duplicate} twice` });
    const normalized = normalizeRequests(requested);
    const redirectUrl = brand.integration === 'hosted' ? redirectUrlOf(input.redirectUrl ?? brand.default_redirect_url, caller.redirectUrls, { allowInsecureLoopback: requests.d.allowInsecureLoopback }) : undefined;

    const source = requests.source(brand.environment);
    const riskSignals = source.risk(phone);
    if (riskSignals?.overall.recommendation === 'block') {
      await requests.event('one_click.blocked', caller.clientId, { reason: 'risk_blocked' });
      throw new OneClickError('risk_blocked', { riskSignals });
    }

    const now = requests.d.clock.now();
    const subjectIndex = requests.d.sealer.index('phone', phone);
    const lockToken = randomUUID();
    const context: OneClickContext = {
      integration: brand.integration,
      environment: brand.environment,
      lockToken,
      subjectIndex,
      brandName: brand.display_name ?? caller.name,
      title: input.content?.title ?? brand.title,
      ...(input.content?.description ? { description: input.content.description } : {}),
    };
    const data: OneClickData = {
      phone,
      requests: normalized,
      ...(email ? { email } : {}),
      ...(birthDate ? { birthDate } : {}),
      ...(ssn4 ? { ssn4 } : {}),
      ...(redirectUrl ? { redirectUrl } : {}),
      ...(riskSignals ? { riskSignals } : {}),
    };
    const lock = { clientId: caller.clientId, subjectIndex, token: lockToken };

    if (brand.integration === 'non_hosted') {
      // Decided within this call, a Non-Hosted request leaves nothing open to conflict with.
      // With a birth date or SSN4 it takes the phone's hold all the same, so parallel calls
      // cannot multiply guesses past the input limit (OCE019).
      if (!birthDate && !ssn4) return this.#decideAtOnce(caller, data, context);
      if (!(await requests.d.locks.acquire({ ...lock, expiresAt: requests.after(now, requests.d.ttlSeconds) }, now))) throw new OneClickError('conflict');
      try {
        return await this.#decideAtOnce(caller, data, context);
      } finally {
        await requests.d.locks.release(lock);
      }
    }

    // Hosted and Semi-Hosted: a code goes out; the phone is held while the code is alive, so a
    // new request can start once an abandoned one's code has lapsed.
    const codeExpiresAt = requests.after(now, Math.min(CODE_LIFETIME_SECONDS, requests.d.ttlSeconds));
    if (!(await requests.d.locks.acquire({ ...lock, expiresAt: codeExpiresAt }, now))) throw new OneClickError('conflict');
    const { value: code, also } = this.#codes.issueWith(source.fixedCode(phone), codeExpiresAt);
    const flow = (await requests.d.flows.start(oneClickFlow, {
      clientId: caller.clientId,
      subjectIndex,
      data,
      context,
      ttlSeconds: requests.d.ttlSeconds,
      also,
    })) as OneClickFlow;
    const url = brand.integration === 'hosted' ? `${requests.d.issuer}/1-click/wallet/${flow.id}?phone=${encodeURIComponent(phone)}` : undefined;
    if (brand.send_sms && source.canText(phone)) await this.#codes.send(flow, code, url);
    return url ? { integration: 'hosted', uuid: flow.id, url, code } : { integration: 'semi_hosted', uuid: flow.id, code };
  }

  /**
   * GET /1-click/{uuid}: the shared data. Semi-Hosted needs the person's code the first time;
   * the code is single use, so presenting it again after the share is refused. Once shared,
   * the owning client may read the data again (without a code) until the request expires.
   */
  async retrieve(caller: OneClickCaller, uuid: string, code: string | undefined): Promise<OneClickEntity> {
    const flow = await this.#requests.forOperator(caller, uuid);
    const { integration } = flow.context;
    switch (flow.state) {
      case 'shared':
        if (integration === 'semi_hosted' && code !== undefined) throw new OneClickError('invalid_code', { attemptsRemaining: 0 });
        return flow.data.entity!;
      case 'created':
        if (integration !== 'semi_hosted') throw new OneClickError('not_completed');
        if (code === undefined) throw new OneClickError('code_required');
        return (await this.#lookup.advance(await this.#codes.check(flow, code))).data.entity!;
      case 'awaiting_input':
        if (integration !== 'semi_hosted') throw new OneClickError('not_completed');
        throw new OneClickError('additional_input_required', { additionalInputs: flow.context.needs ?? ['birthDate'], ...this.#requests.risk(flow) });
      case 'code_verified':
        throw new OneClickError('not_completed');
      default:
        return this.#requests.closed(flow);
    }
  }

  /** PATCH /1-click/{uuid}: the additional inputs a Semi-Hosted request asked for (OCE011). */
  async provideInputs(caller: OneClickCaller, uuid: string, inputs: AdditionalInputs): Promise<OneClickEntity> {
    const flow = await this.#requests.forOperator(caller, uuid);
    if (flow.context.integration !== 'semi_hosted') {
      throw new OneClickError('wrong_integration', { explanation: 'PATCH /1-click is for the Semi-Hosted integration type only' });
    }
    const checked = { birthDate: checkBirthDate(given(inputs.birthDate)), ssn4: checkSsn4(given(inputs.ssn4)) };
    switch (flow.state) {
      case 'shared':
        return flow.data.entity!;
      case 'created':
        throw new OneClickError('code_required');
      case 'awaiting_input':
        if (checked.birthDate === undefined && checked.ssn4 === undefined) {
          throw new OneClickError('additional_input_required', { additionalInputs: flow.context.needs ?? ['birthDate'], ...this.#requests.risk(flow) });
        }
        return (await this.#lookup.advance(flow, checked)).data.entity!;
      default:
        return this.#requests.closed(flow);
    }
  }

  async #decideAtOnce(caller: OneClickCaller, data: OneClickData, context: OneClickContext): Promise<StartResult> {
    try {
      return { integration: 'non_hosted', ...(await this.#lookup.decideAtOnce(caller.clientId, data, context)) };
    } catch (error) {
      if (error instanceof OneClickError) await this.#requests.event('one_click.failed', caller.clientId, { reason: error.reason, integration: 'non_hosted' });
      throw error;
    }
  }
}

/**
 * The redirect URL of a Hosted request: one the brand registered (the redirect policy,
 * src/redirects/redirect-policy.ts). Checked once, as the request starts, so every way out of
 * the pages (share, decline, failure links) goes to a registered URL.
 */
function redirectUrlOf(value: string | undefined, registered: readonly string[], rules: RedirectRules): string {
  if (value === undefined) throw new OneClickError('redirect_url_required');
  const match = registeredRedirect(value, registered, rules);
  if (!match.ok) throw new OneClickError('invalid_input', { explanation: "redirectUrl must be one of the brand's registered redirect URLs" });
  return match.url;
}
