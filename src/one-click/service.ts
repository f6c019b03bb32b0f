import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { OneClickBrand, OneClickTitle } from '../clients/one-click-brand.ts';
import type { FlowEngine } from '../flows/engine.ts';
import type { Wallet } from '../identity/wallet.ts';
import type { Consents } from '../consent/consents.ts';
import type { Clock } from '../kernel/clock.ts';
import { isAppError } from '../kernel/errors.ts';
import { numericCode, randomToken } from '../kernel/ids.ts';
import { registeredMatch } from '../clients/registered-url.ts';
import { constantTimeEqual } from '../kernel/secrets.ts';
import type { EventsRepo } from '../storage/events-repo.ts';
import type { InputFailureKey, OneClickInputFailuresRepo } from '../storage/one-click-input-failures-repo.ts';
import type { OneClickPhoneLocksRepo } from '../storage/one-click-phone-locks-repo.ts';
import type { Sealer } from '../storage/sealer.ts';
import type { UsersRepo } from '../storage/users-repo.ts';
import { documentedDefaults, duplicateType, normalizeRequests, type CredentialRequest } from './credential-requests.ts';
import { buildDraft, foundAnything, missingMandatory, type Draft } from './draft.ts';
import { shareConsent } from './share-consent.ts';
import { renderEntity, type OneClickEntity } from './entity.ts';
import { OneClickError, type AdditionalInput, type OneClickErrorDetails, type OneClickReason } from './errors.ts';
import { oneClickFlow, OPEN_STATES, type OneClickContext, type OneClickData, type OneClickFlow, type OneClickState } from './flow.ts';
import { checkBirthDate, checkEmail, checkSsn4, given, oneClickPhone } from './inputs.ts';
import { applyEdits, fieldsOf, unfillable, type PersonField } from './review.ts';
import { SandboxDirectory } from './sources/sandbox-directory.ts';
import type { AdditionalInputs, IdentitySource, Lookup } from './sources/source.ts';
import { WalletSource } from './sources/wallet-source.ts';

/** Codes live 5 minutes and allow 3 attempts, as Verified documents. */
export const CODE_LIFETIME_SECONDS = 300;
export const MAX_CODE_ATTEMPTS = 3;
/** Wrong birth dates (or SSN4s) per phone, brand and environment within one request lifetime. */
export const MAX_INPUT_ATTEMPTS = 3;

/** What 1-Click needs of an SMS sender (src/notifications/sms fits it). */
export interface CodeSender {
  send(message: { to: string; text: string; clientId: string; purpose: 'verification_code' }): Promise<void>;
}

/** The operator calling: its client id, name, 1-Click brand settings and registered redirect URLs. */
export interface OneClickCaller {
  clientId: string;
  name: string;
  brand: OneClickBrand;
  /** Where this brand may send people (Hosted); from `registeredRedirectUrls`. */
  redirectUrls: readonly string[];
}

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

/** What the Hosted pages show; plain data, no markup. */
export interface PersonView {
  uuid: string;
  step: 'code' | 'input' | 'review' | 'shared' | 'declined' | 'failed' | 'expired';
  brand: { name: string; title: OneClickTitle; description?: string };
  /** Last four digits of the phone the code went to. */
  phoneHint: string;
  additionalInputs?: AdditionalInput[];
  fields?: PersonField[];
  /** Where to send the person now (steps shared, declined, failed, expired). */
  redirectUrl?: string;
  /** The operator's redirect URL, where the pages end at every step (their form-action names it). */
  returnsTo?: string;
  failure?: OneClickReason;
  /** Only in submitCode's answer: what this browser presents from now on (keep it in a cookie). */
  personToken?: string;
  /** The code was entered elsewhere: this browser may not see or act on the request. */
  locked?: true;
}

export interface OneClickServiceDeps {
  flows: FlowEngine;
  locks: OneClickPhoneLocksRepo;
  inputFailures: OneClickInputFailuresRepo;
  events: EventsRepo;
  users: UsersRepo;
  wallet: Wallet;
  consents: Consents;
  sealer: Sealer;
  clock: Clock;
  logger: Logger;
  /** Base URL of the Hosted pages. */
  issuer: string;
  ttlSeconds: number;
  /** Texts the code when a client opts in (`one_click.send_sms`). */
  sms?: CodeSender | undefined;
}

/**
 * 1-Click: an operator asks for a person's verified data by phone and gets it in one click,
 * with the person's consent. Every rule lives here (expiry, code and input attempts, one
 * open request per phone, what may be shared, consent); the Verified-compatible API and the
 * Hosted pages are doors into it.
 */
export class OneClickService {
  readonly #d: OneClickServiceDeps;
  readonly #sandbox = new SandboxDirectory();
  readonly #walletSource: WalletSource;

  constructor(deps: OneClickServiceDeps) {
    this.#d = deps;
    this.#walletSource = new WalletSource(deps.users, deps.wallet);
  }

  // ── The operator's side (POST / GET / PATCH /1-click) ────────────────────────────────

  async start(caller: OneClickCaller, input: StartInput): Promise<StartResult> {
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
    const requests = normalizeRequests(requested);
    const redirectUrl = brand.integration === 'hosted' ? this.#redirectUrl(input.redirectUrl ?? brand.default_redirect_url, caller.redirectUrls) : undefined;

    const source = this.#source(brand);
    const riskSignals = source.risk(phone);
    if (riskSignals?.overall.recommendation === 'block') {
      await this.#event('one_click.blocked', caller.clientId, { reason: 'risk_blocked' });
      throw new OneClickError('risk_blocked', { riskSignals });
    }

    const now = this.#d.clock.now();
    const subjectIndex = this.#d.sealer.index('phone', phone);
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
      requests,
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
      if (!birthDate && !ssn4) return this.#nonHosted(caller, data, context, source);
      if (!(await this.#d.locks.acquire({ ...lock, expiresAt: this.#after(now, this.#d.ttlSeconds) }, now))) throw new OneClickError('conflict');
      try {
        return await this.#nonHosted(caller, data, context, source);
      } finally {
        await this.#d.locks.release(lock);
      }
    }

    // Hosted and Semi-Hosted: a code goes out; the phone is held while the code is alive, so a
    // new request can start once an abandoned one's code has lapsed.
    const codeSeconds = Math.min(CODE_LIFETIME_SECONDS, this.#d.ttlSeconds);
    const codeExpiresAt = this.#after(now, codeSeconds);
    if (!(await this.#d.locks.acquire({ ...lock, expiresAt: codeExpiresAt }, now))) throw new OneClickError('conflict');
    const code = source.fixedCode(phone) ?? numericCode(6);
    const flow = (await this.#d.flows.start(oneClickFlow, {
      clientId: caller.clientId,
      subjectIndex,
      data: { ...data, codeHash: this.#codeHash(lockToken, code) },
      context: { ...context, codeExpiresAt: codeExpiresAt.toISOString() },
      ttlSeconds: this.#d.ttlSeconds,
    })) as OneClickFlow;
    const url = brand.integration === 'hosted' ? `${this.#d.issuer}/1-click/wallet/${flow.id}?phone=${encodeURIComponent(phone)}` : undefined;
    if (brand.send_sms && source.canText(phone)) await this.#sendCode(flow, code, url);
    return url ? { integration: 'hosted', uuid: flow.id, url, code } : { integration: 'semi_hosted', uuid: flow.id, code };
  }

  /**
   * GET /1-click/{uuid}: the shared data. Semi-Hosted needs the person's code the first time;
   * the code is single use, so presenting it again after the share is refused. Once shared,
   * the owning client may read the data again (without a code) until the request expires.
   */
  async retrieve(caller: OneClickCaller, uuid: string, code: string | undefined): Promise<OneClickEntity> {
    const flow = await this.#loadForOperator(caller, uuid);
    const { integration } = flow.context;
    switch (flow.state) {
      case 'shared':
        if (integration === 'semi_hosted' && code !== undefined) throw new OneClickError('invalid_code', { attemptsRemaining: 0 });
        return flow.data.entity!;
      case 'created':
        if (integration !== 'semi_hosted') throw new OneClickError('not_completed');
        if (code === undefined) throw new OneClickError('code_required');
        return this.#sharedEntity(await this.#advance(await this.#checkCode(flow, code), {}, flow.attempts + 1));
      case 'awaiting_input':
        if (integration !== 'semi_hosted') throw new OneClickError('not_completed');
        throw new OneClickError('additional_input_required', { additionalInputs: flow.context.needs ?? ['birthDate'], ...this.#risk(flow) });
      case 'code_verified':
        throw new OneClickError('not_completed');
      default:
        return this.#closed(flow);
    }
  }

  /** PATCH /1-click/{uuid}: the additional inputs a Semi-Hosted request asked for (OCE011). */
  async provideInputs(caller: OneClickCaller, uuid: string, inputs: AdditionalInputs): Promise<OneClickEntity> {
    const flow = await this.#loadForOperator(caller, uuid);
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
          throw new OneClickError('additional_input_required', { additionalInputs: flow.context.needs ?? ['birthDate'], ...this.#risk(flow) });
        }
        return this.#sharedEntity(await this.#advance(flow, checked, flow.attempts));
      default:
        return this.#closed(flow);
    }
  }

  // ── The person's side (the Hosted wallet pages) ──────────────────────────────────────
  //
  // Whoever opens the link sees the brand and the step, nothing personal. Entering the right
  // code hands that browser a `personToken` (keep it in a cookie); from then on the data is
  // shown, and the request acted on, only with it.

  /**
   * The request as the person sees it. With `code` (a link with ?code=) the code is checked
   * first, as submitCode does; with the `personToken` the data is shown again (a reload).
   */
  async viewForPerson(uuid: string, code?: string, personToken?: string): Promise<PersonView> {
    if (code !== undefined) return this.submitCode(uuid, code);
    const flow = await this.#loadForPerson(uuid);
    return this.#view(flow, personToken);
  }

  /**
   * Checks the code; the answer carries `personToken` when it was right. Throws invalid_code
   * (details.attemptsRemaining), code_attempts_exceeded (the request is then over: view it
   * again for the redirect), input_attempts_exceeded and conflict; every other outcome is a
   * step of the view (input, review, failed).
   */
  async submitCode(uuid: string, code: string): Promise<PersonView> {
    const flow = await this.#loadForPerson(uuid);
    if (flow.expired || flow.state !== 'created') return this.#view(flow);
    const checked = await this.#checkCode(flow, code);
    const personToken = randomToken();
    checked.context = { ...checked.context, personTokenHash: this.#personTokenHash(checked, personToken) };
    await this.#forPerson(() => this.#advance(checked, {}, flow.attempts + 1));
    return { ...(await this.#view(await this.#loadForPerson(uuid), personToken)), personToken };
  }

  /**
   * The birth date / SSN4 the request asked for. Throws input_mismatch (details.mismatched),
   * input_attempts_exceeded, invalid_input; other outcomes are steps of the view.
   */
  async provideInput(uuid: string, inputs: AdditionalInputs, personToken?: string): Promise<PersonView> {
    const flow = await this.#loadForPerson(uuid);
    if (flow.expired || flow.state !== 'awaiting_input') return this.#view(flow, personToken);
    this.#requireToken(flow, personToken);
    const checked = { birthDate: checkBirthDate(given(inputs.birthDate)), ssn4: checkSsn4(given(inputs.ssn4)) };
    if (checked.birthDate === undefined && checked.ssn4 === undefined) throw new OneClickError('additional_input_required', { additionalInputs: flow.context.needs ?? ['birthDate'] });
    const outcome = await this.#forPerson(() => this.#advance(flow, checked, flow.attempts));
    if (outcome?.reason === 'input_mismatch') throw outcome;
    return this.#view(await this.#loadForPerson(uuid), personToken);
  }

  /**
   * The person shares the reviewed data, with their edits (field id → value). Records the
   * consent and returns where to send them: the redirect URL with `identityUuid`.
   * Throws invalid_input (details.explanation) when an edit is refused or a required field is empty.
   */
  async share(uuid: string, edits: Record<string, string>, personToken?: string): Promise<{ redirectUrl: string }> {
    const flow = await this.#loadForPerson(uuid);
    if (flow.expired) throw new OneClickError('request_expired');
    if (flow.state === 'shared') return { redirectUrl: this.#redirect(flow) };
    if (flow.state === 'created') throw new OneClickError('code_required');
    if (flow.state !== 'code_verified' && flow.state !== 'awaiting_input') return this.#closed(flow);
    this.#requireToken(flow, personToken);
    if (flow.state === 'awaiting_input') throw new OneClickError('additional_input_required', { additionalInputs: flow.context.needs ?? ['birthDate'] });
    const draft = applyEdits(flow.data.draft!, edits);
    await this.#share(flow, draft, flow.data, flow.attempts);
    return { redirectUrl: this.#redirect(flow) };
  }

  /**
   * The person says no (before the code, anyone holding the link may; after it, only the
   * browser that entered it). The operator learns it from the redirect (`error=declined`)
   * and from GET (OCE021).
   */
  async decline(uuid: string, personToken?: string): Promise<{ redirectUrl: string }> {
    const flow = await this.#loadForPerson(uuid);
    if (!flow.expired && (OPEN_STATES as string[]).includes(flow.state)) {
      if (flow.state !== 'created') this.#requireToken(flow, personToken);
      const declined = await this.#move(flow, 'declined', { data: this.#minimal(flow.data) });
      await this.#releaseLock(declined);
      return { redirectUrl: this.#redirect(declined, 'declined') };
    }
    return { redirectUrl: (await this.#view(flow)).redirectUrl ?? this.#redirect(flow) };
  }

  /** Runs a step for the person: outcomes that are steps of the page come back, not as errors. */
  async #forPerson(step: () => Promise<unknown>): Promise<OneClickError | undefined> {
    try {
      await step();
      return undefined;
    } catch (error) {
      if (error instanceof OneClickError && !['input_attempts_exceeded', 'conflict', 'invalid_input'].includes(error.reason)) return error;
      throw error;
    }
  }

  #requireToken(flow: OneClickFlow, personToken: string | undefined): void {
    if (!this.#tokenMatches(flow, personToken)) throw new OneClickError('person_token_required');
  }

  #tokenMatches(flow: OneClickFlow, personToken: string | undefined): boolean {
    const expected = flow.context.personTokenHash;
    return expected !== undefined && personToken !== undefined && constantTimeEqual(this.#personTokenHash(flow, personToken), expected);
  }

  #personTokenHash(flow: OneClickFlow, personToken: string): string {
    return this.#d.sealer.index('one_click_person', `${flow.context.lockToken}:${personToken}`);
  }

  /**
   * Deletes phone holds and input-failure counts whose time is up (they also heal by
   * themselves: an expired row is replaced when the phone comes back). For the periodic purge.
   */
  async purgeExpired(now: Date = this.#d.clock.now()): Promise<number> {
    return (await this.#d.locks.purgeExpired(now)) + (await this.#d.inputFailures.purgeExpired(now));
  }

  // ── Steps ────────────────────────────────────────────────────────────────────────────

  async #nonHosted(caller: OneClickCaller, data: OneClickData, context: OneClickContext, source: IdentitySource): Promise<StartResult> {
    try {
      const inputs = { birthDate: data.birthDate, ssn4: data.ssn4 };
      const failureKey = this.#failureKey(caller.clientId, context);
      await this.#checkInputAttempts(failureKey, inputs, data);
      const lookup = await source.lookup(data.phone, inputs);
      const risk = data.riskSignals ?? lookupRisk(lookup);
      if (lookup.outcome === 'needs_input') throw new OneClickError('additional_input_required', { additionalInputs: lookup.additionalInputs, ...(risk ? { riskSignals: risk } : {}) });
      if (lookup.outcome === 'mismatch') {
        await this.#recordInputFailures(failureKey, lookup.mismatched);
        throw new OneClickError('input_mismatch', { mismatched: lookup.mismatched, ...(risk ? { riskSignals: risk } : {}) });
      }
      if (lookup.outcome === 'nothing') throw new OneClickError('nothing_found', risk ? { riskSignals: risk } : {});
      // The operator verified the phone with its own code: the phone is `customer_otp`.
      const draft = buildDraft(data.requests, { ...lookup.sourced, ...(risk ? { riskSignals: risk } : {}) }, { ...data, phoneMethod: 'customer_otp' });
      if (!foundAnything(draft, lookup.sourced)) throw new OneClickError('nothing_found', risk ? { riskSignals: risk } : {});
      if (missingMandatory(draft).length) throw new OneClickError('mandatory_credentials_missing');
      const entity = renderEntity(draft);
      const shared = (await this.#d.flows.start(oneClickFlow, {
        clientId: caller.clientId,
        userId: draft.userId,
        subjectIndex: context.subjectIndex,
        data: { ...this.#minimal(data), entity },
        context,
        ttlSeconds: this.#d.ttlSeconds,
        state: 'shared',
      })) as OneClickFlow;
      // The operator's own phone verification stands in for the person's consent here; the
      // disclosure is recorded all the same, so the person can see who holds what.
      if (draft.userId) await this.#d.consents.record(shareConsent(draft, entity, { clientId: caller.clientId, flowId: shared.id }));
      return { integration: 'non_hosted', uuid: shared.id, identity: entity };
    } catch (error) {
      if (error instanceof OneClickError) await this.#event('one_click.failed', caller.clientId, { reason: error.reason, integration: 'non_hosted' });
      throw error;
    }
  }

  /** Checks a code; a wrong or lapsed code counts an attempt. The caller's next move counts a right one. */
  async #checkCode(flow: OneClickFlow, code: string): Promise<OneClickFlow> {
    if (flow.attempts >= MAX_CODE_ATTEMPTS) return this.#fail(flow, 'code_attempts_exceeded');
    const presented = this.#codeHash(flow.context.lockToken, code.trim());
    const matches = constantTimeEqual(presented, flow.data.codeHash ?? '');
    const live = flow.context.codeExpiresAt !== undefined && new Date(flow.context.codeExpiresAt) > this.#d.clock.now();
    if (matches && live) return flow;
    const counted = await this.#move(flow, flow.state, { attempts: flow.attempts + 1 });
    // On the Hosted pages the last wrong code ends the request at once, so the person is not
    // shown a code form that can no longer succeed (and the operator's GET then says OCE018).
    if (counted.context.integration === 'hosted' && counted.attempts >= MAX_CODE_ATTEMPTS) return this.#fail(counted, 'code_attempts_exceeded');
    throw new OneClickError('invalid_code', { attemptsRemaining: Math.max(0, MAX_CODE_ATTEMPTS - counted.attempts) });
  }

  /**
   * After the code (or with new inputs): asks the source for the person and moves on —
   * to awaiting_input, to the person's review (Hosted), or straight to shared.
   */
  async #advance(flow: OneClickFlow, newInputs: AdditionalInputs, attempts: number): Promise<OneClickFlow> {
    const data: OneClickData = {
      ...flow.data,
      ...(newInputs.birthDate !== undefined ? { birthDate: newInputs.birthDate } : {}),
      ...(newInputs.ssn4 !== undefined ? { ssn4: newInputs.ssn4 } : {}),
    };
    const inputs = { birthDate: data.birthDate, ssn4: data.ssn4 };
    const failureKey = this.#failureKey(flow.clientId!, flow.context);
    await this.#checkInputAttempts(failureKey, inputs, data);
    const lookup = await this.#sourceOf(flow).lookup(data.phone, inputs);
    const risk = data.riskSignals ?? lookupRisk(lookup);
    const riskDetail = risk ? { riskSignals: risk } : {};
    if (lookup.outcome === 'needs_input') {
      await this.#awaitInput(flow, data, attempts, lookup.additionalInputs);
      throw new OneClickError('additional_input_required', { additionalInputs: lookup.additionalInputs, ...riskDetail });
    }
    if (lookup.outcome === 'mismatch') {
      await this.#recordInputFailures(failureKey, lookup.mismatched);
      // A wrong value is forgotten, so the next try is not judged by it again.
      const kept = { ...data };
      for (const input of lookup.mismatched) delete kept[input];
      await this.#awaitInput(flow, kept, attempts, flow.context.needs ?? lookup.mismatched);
      throw new OneClickError('input_mismatch', { mismatched: lookup.mismatched, ...riskDetail });
    }
    if (lookup.outcome === 'nothing') return this.#fail(flow, 'nothing_found', { attempts });
    const draft = buildDraft(data.requests, { ...lookup.sourced, ...riskDetail }, { ...data, phoneMethod: 'otp' });
    if (!foundAnything(draft, lookup.sourced)) return this.#fail(flow, 'nothing_found', { attempts });
    const missing = missingMandatory(draft);
    if (flow.context.integration === 'hosted') {
      // The person may type what is missing, unless the request forbids it.
      if (unfillable(draft, missing).length) return this.#fail(flow, 'mandatory_credentials_missing', { attempts });
      const reviewing = await this.#move(flow, 'code_verified', { attempts, data: { ...data, draft }, userId: draft.userId });
      await this.#holdUntilExpiry(reviewing);
      return reviewing;
    }
    if (missing.length) return this.#fail(flow, 'mandatory_credentials_missing', { attempts });
    return this.#share(flow, draft, data, attempts);
  }

  async #share(flow: OneClickFlow, draft: Draft, data: OneClickData, attempts: number): Promise<OneClickFlow> {
    const entity = renderEntity(draft);
    // The move comes first: of two racing requests only the winner records a consent.
    const shared = await this.#move(flow, 'shared', { attempts, userId: draft.userId, data: { ...this.#minimal(data), entity } });
    if (draft.userId) await this.#d.consents.record(shareConsent(draft, entity, { clientId: flow.clientId!, flowId: flow.id }));
    await this.#releaseLock(shared);
    return shared;
  }

  async #awaitInput(flow: OneClickFlow, data: OneClickData, attempts: number, needs: AdditionalInput[]): Promise<void> {
    const waiting = await this.#move(flow, 'awaiting_input', { attempts, data, context: { ...flow.context, needs } });
    await this.#holdUntilExpiry(waiting);
  }

  /** Ends the request with a reason that later reads give again. */
  async #fail(flow: OneClickFlow, reason: OneClickReason, options: { attempts?: number } = {}): Promise<never> {
    const failed = await this.#move(
      flow,
      'failed',
      { attempts: options.attempts ?? flow.attempts, data: this.#minimal(flow.data), context: { ...flow.context, failure: { reason } } },
      { payload: { reason } },
    );
    await this.#releaseLock(failed);
    throw new OneClickError(reason, this.#risk(flow));
  }

  /**
   * Wrong inputs count per brand and environment: a brand can lock a phone out of its own
   * requests only, and a sandbox brand (which compares inputs with mock data) never touches
   * production. A brand still cannot go past the limit with new requests.
   */
  #failureKey(clientId: string, context: OneClickContext): InputFailureKey {
    return { clientId, environment: context.environment, subjectIndex: context.subjectIndex };
  }

  async #checkInputAttempts(key: InputFailureKey, inputs: AdditionalInputs, data: OneClickData): Promise<void> {
    const asked = (['birthDate', 'ssn4'] as const).filter((k) => inputs[k] !== undefined);
    if (asked.length === 0) return;
    const failures = await this.#d.inputFailures.current(key, this.#d.clock.now());
    const exceeded = asked.filter((k) => (failures.get(k) ?? 0) >= MAX_INPUT_ATTEMPTS);
    if (exceeded.length) throw new OneClickError('input_attempts_exceeded', { inputAttemptsExceeded: exceeded, ...(data.riskSignals ? { riskSignals: data.riskSignals } : {}) });
  }

  async #recordInputFailures(key: InputFailureKey, inputs: AdditionalInput[]): Promise<void> {
    const now = this.#d.clock.now();
    await this.#d.inputFailures.record(key, inputs, now, this.#after(now, this.#d.ttlSeconds));
  }

  async #sendCode(flow: OneClickFlow, code: string, url: string | undefined): Promise<void> {
    const text = `Enter this code to verify for ${flow.context.brandName}: ${code}${url ? `\n${url}&code=${code}` : ''}`;
    try {
      if (!this.#d.sms) throw new Error('no SMS sender is configured');
      await this.#d.sms.send({ to: flow.data.phone, text, clientId: flow.clientId!, purpose: 'verification_code' });
    } catch (error) {
      // No code reached the person: the request cannot go on, and must not hold the phone.
      const failed = await this.#move(flow, 'failed', { data: this.#minimal(flow.data), context: { ...flow.context, failure: { reason: 'sms_limited' } } });
      await this.#releaseLock(failed);
      if (isAppError(error) && error.code === 'too_many_requests') throw new OneClickError('sms_limited', { retryAfter: error.retryAfter ?? 60 });
      this.#d.logger.error({ err: { message: (error as Error).message }, flowId: flow.id }, 'one_click.sms_failed');
      throw error;
    }
  }

  // ── Reading, moving, rendering ───────────────────────────────────────────────────────

  async #loadForOperator(caller: OneClickCaller, uuid: string): Promise<OneClickFlow> {
    const flow = (await this.#d.flows.find(oneClickFlow, uuid)) as OneClickFlow | undefined;
    // Another client's request is as unknown to this one as a request that never was.
    if (!flow || flow.clientId !== caller.clientId) throw new OneClickError('request_not_found');
    if (flow.expired) {
      await this.#expire(flow);
      throw new OneClickError('request_expired');
    }
    return flow;
  }

  async #loadForPerson(uuid: string): Promise<OneClickFlow> {
    const flow = (await this.#d.flows.find(oneClickFlow, uuid)) as OneClickFlow | undefined;
    // Only Hosted requests have pages; a Semi-Hosted uuid must not open one.
    if (!flow || flow.context.integration !== 'hosted') throw new OneClickError('request_not_found');
    if (flow.expired) await this.#expire(flow);
    return flow;
  }

  /** An open request found past its time is closed then (nothing sweeps them). */
  async #expire(flow: OneClickFlow): Promise<void> {
    if (!(OPEN_STATES as string[]).includes(flow.state)) return;
    try {
      await this.#d.flows.transition(oneClickFlow, flow, 'expired', { data: this.#minimal(flow.data) });
      await this.#releaseLock(flow);
    } catch (error) {
      if (!(isAppError(error) && error.code === 'flow_conflict')) throw error;
    }
  }

  /** Answers for a request that is over (declined, failed, expired). */
  #closed(flow: OneClickFlow): never {
    if (flow.state === 'declined') throw new OneClickError('declined');
    if (flow.state === 'failed') throw new OneClickError(flow.context.failure?.reason ?? 'nothing_found', this.#risk(flow));
    throw new OneClickError('request_expired');
  }

  #sharedEntity(flow: OneClickFlow): OneClickEntity {
    return flow.data.entity!;
  }

  async #move(
    flow: OneClickFlow,
    to: OneClickState,
    changes: { attempts?: number; data?: OneClickData; context?: OneClickContext; userId?: string | undefined },
    event?: { payload?: Record<string, unknown> },
  ): Promise<OneClickFlow> {
    try {
      return (await this.#d.flows.transition(oneClickFlow, flow, to, changes, event)) as OneClickFlow;
    } catch (error) {
      // Someone else moved this request first (a second GET with the same code, a double
      // submit): exactly one wins; the other is told to try again.
      if (isAppError(error) && error.code === 'flow_conflict') throw new OneClickError('conflict');
      throw error;
    }
  }

  async #view(flow: OneClickFlow, personToken?: string): Promise<PersonView> {
    const base = {
      uuid: flow.id,
      brand: { name: flow.context.brandName, title: flow.context.title, ...(flow.context.description ? { description: flow.context.description } : {}) },
      phoneHint: flow.data.phone.slice(-4),
      ...(flow.data.redirectUrl ? { returnsTo: flow.data.redirectUrl } : {}),
    };
    if (flow.expired || flow.state === 'expired') return { ...base, step: 'expired', redirectUrl: this.#redirect(flow, 'request_expired') };
    switch (flow.state) {
      case 'created':
        return { ...base, step: 'code' };
      case 'awaiting_input':
        if (!this.#tokenMatches(flow, personToken)) return { ...base, step: 'input', locked: true };
        return { ...base, step: 'input', additionalInputs: flow.context.needs ?? ['birthDate'] };
      case 'code_verified':
        if (!this.#tokenMatches(flow, personToken)) return { ...base, step: 'review', locked: true };
        return { ...base, step: 'review', fields: fieldsOf(flow.data.draft!) };
      case 'shared':
        return { ...base, step: 'shared', redirectUrl: this.#redirect(flow) };
      case 'declined':
        return { ...base, step: 'declined', redirectUrl: this.#redirect(flow, 'declined') };
      default: {
        const reason = flow.context.failure?.reason ?? 'nothing_found';
        return { ...base, step: 'failed', failure: reason, redirectUrl: this.#redirect(flow, reason) };
      }
    }
  }

  /** The operator's redirect URL with `identityUuid` (and `error` when the person did not share). */
  #redirect(flow: OneClickFlow, error?: string): string {
    const url = new URL(flow.data.redirectUrl!);
    url.searchParams.set('identityUuid', flow.id);
    if (error) url.searchParams.set('error', error);
    return url.toString();
  }

  /**
   * The redirect URL of a Hosted request: one the brand registered (exact match after
   * normalisation, query included). Checked here, once, so every way out of the pages
   * (share, decline, failure links) goes to a registered URL.
   */
  #redirectUrl(value: string | undefined, registered: readonly string[]): string {
    if (value === undefined) throw new OneClickError('redirect_url_required');
    const match = registeredMatch(value, registered);
    if (match === undefined) throw new OneClickError('invalid_input', { explanation: "redirectUrl must be one of the brand's registered redirect URLs" });
    return match;
  }

  /** After the request is over, only what GET may still return is kept. */
  #minimal(data: OneClickData): OneClickData {
    const { codeHash: _c, draft: _d, ssn4: _s, ...rest } = data;
    return rest;
  }

  #risk(flow: OneClickFlow): OneClickErrorDetails {
    return flow.data.riskSignals ? { riskSignals: flow.data.riskSignals } : {};
  }

  #source(brand: OneClickBrand): IdentitySource {
    return brand.environment === 'sandbox' ? this.#sandbox : this.#walletSource;
  }

  #sourceOf(flow: OneClickFlow): IdentitySource {
    return flow.context.environment === 'sandbox' ? this.#sandbox : this.#walletSource;
  }

  /** Keyed (blind-index key) and bound to the request: a database dump alone cannot test codes. */
  #codeHash(lockToken: string, code: string): string {
    return this.#d.sealer.index('one_click_code', `${lockToken}:${code}`);
  }

  async #holdUntilExpiry(flow: OneClickFlow): Promise<void> {
    await this.#d.locks.extend({ clientId: flow.clientId!, subjectIndex: flow.context.subjectIndex, token: flow.context.lockToken, expiresAt: flow.expiresAt });
  }

  async #releaseLock(flow: OneClickFlow): Promise<void> {
    await this.#d.locks.release({ clientId: flow.clientId!, subjectIndex: flow.context.subjectIndex, token: flow.context.lockToken });
  }

  async #event(type: string, clientId: string, payload: Record<string, unknown>): Promise<void> {
    await this.#d.events.record({ type, clientId, payload }, this.#d.clock.now());
  }

  #after(now: Date, seconds: number): Date {
    return new Date(now.getTime() + seconds * 1000);
  }
}

function lookupRisk(lookup: Lookup) {
  return lookup.outcome === 'found' ? lookup.sourced.riskSignals : lookup.riskSignals;
}
