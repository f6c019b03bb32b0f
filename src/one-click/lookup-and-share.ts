import type { RequestNode } from './credential-requests.ts';
import { buildDraft, foundAnything, missingMandatory, type Draft } from './draft.ts';
import { renderEntity, type OneClickEntity } from './entity.ts';
import { OneClickError, type AdditionalInput, type RiskSignals } from './errors.ts';
import { oneClickFlow, type OneClickContext, type OneClickData, type OneClickFlow } from './flow.ts';
import type { OneClickRequests } from './requests.ts';
import { unfillable } from './review.ts';
import { shareConsent } from './share-consent.ts';
import type { AdditionalInputs, Lookup } from './sources/source.ts';
import type { InputFailureKey } from '../storage/one-click-input-failures-repo.ts';

/** Wrong birth dates (or SSN4s) per phone, brand and environment within one request lifetime. */
export const MAX_INPUT_ATTEMPTS = 3;

/** What the source said of the person, judged the same way for every integration. */
type Judged =
  | { outcome: 'needs_input'; additionalInputs: AdditionalInput[]; risk: RiskSignals | undefined }
  | { outcome: 'mismatch'; mismatched: AdditionalInput[]; risk: RiskSignals | undefined }
  | { outcome: 'nothing'; risk: RiskSignals | undefined }
  | { outcome: 'found'; draft: Draft; missing: RequestNode[]; risk: RiskSignals | undefined };

/**
 * Finding the person and sharing what was found, written once for the three integrations:
 * Non-Hosted decides within the operator's call; Semi-Hosted and Hosted after the right
 * code (and the inputs asked for), Hosted then after the person's review.
 */
export class LookupAndShare {
  readonly #requests: OneClickRequests;

  constructor(requests: OneClickRequests) {
    this.#requests = requests;
  }

  /**
   * Non-Hosted: the operator verified the phone with its own code (the phone is
   * `customer_otp`), so the request is decided here and written once, already shared.
   */
  async decideAtOnce(clientId: string, data: OneClickData, context: OneClickContext): Promise<{ uuid: string; identity: OneClickEntity }> {
    const judged = await this.#judge(clientId, context, data, 'customer_otp');
    const risk = judged.risk ? { riskSignals: judged.risk } : {};
    if (judged.outcome === 'needs_input') throw new OneClickError('additional_input_required', { additionalInputs: judged.additionalInputs, ...risk });
    if (judged.outcome === 'mismatch') throw new OneClickError('input_mismatch', { mismatched: judged.mismatched, ...risk });
    if (judged.outcome === 'nothing') throw new OneClickError('nothing_found', risk);
    if (judged.missing.length) throw new OneClickError('mandatory_credentials_missing');
    const { draft } = judged;
    const entity = renderEntity(draft);
    const shared = (await this.#requests.d.flows.start(oneClickFlow, {
      clientId,
      userId: draft.userId,
      subjectIndex: context.subjectIndex,
      data: { ...data, entity },
      context,
      ttlSeconds: this.#requests.d.ttlSeconds,
      state: 'shared',
    })) as OneClickFlow;
    // The operator's own phone verification stands in for the person's consent here; the
    // disclosure is recorded all the same, so the person can see who holds what.
    await this.#recordConsent(draft, entity, clientId, shared.id);
    return { uuid: shared.id, identity: entity };
  }

  /**
   * After the right code (or with new inputs): asks the source for the person and moves on —
   * to awaiting_input, to the person's review (Hosted), or straight to shared.
   */
  async advance(flow: OneClickFlow, newInputs: AdditionalInputs = {}): Promise<OneClickFlow> {
    const requests = this.#requests;
    const data: OneClickData = {
      ...flow.data,
      ...(newInputs.birthDate !== undefined ? { birthDate: newInputs.birthDate } : {}),
      ...(newInputs.ssn4 !== undefined ? { ssn4: newInputs.ssn4 } : {}),
    };
    const judged = await this.#judge(flow.clientId!, flow.context, data, 'otp');
    const risk = judged.risk ? { riskSignals: judged.risk } : {};
    switch (judged.outcome) {
      case 'needs_input':
        await this.#awaitInput(flow, data, judged.additionalInputs);
        throw new OneClickError('additional_input_required', { additionalInputs: judged.additionalInputs, ...risk });
      case 'mismatch': {
        // A wrong value is forgotten, so the next try is not judged by it again.
        const kept = { ...data };
        for (const input of judged.mismatched) delete kept[input];
        await this.#awaitInput(flow, kept, flow.context.needs ?? judged.mismatched);
        throw new OneClickError('input_mismatch', { mismatched: judged.mismatched, ...risk });
      }
      case 'nothing':
        return requests.fail(flow, 'nothing_found');
      case 'found':
        break;
    }
    const { draft, missing } = judged;
    if (flow.context.integration === 'hosted') {
      // The person may type what is missing, unless the request forbids it.
      if (unfillable(draft, missing).length) return requests.fail(flow, 'mandatory_credentials_missing');
      const reviewing = await requests.move(flow, 'code_verified', { data: { ...data, draft }, userId: draft.userId });
      await requests.holdUntilExpiry(reviewing);
      return reviewing;
    }
    if (missing.length) return requests.fail(flow, 'mandatory_credentials_missing');
    return this.share(flow, draft, data);
  }

  /** Shares the draft: the request ends shared (GET returns the entity until it expires), with its consent. */
  async share(flow: OneClickFlow, draft: Draft, data: OneClickData = flow.data): Promise<OneClickFlow> {
    // The move comes first: of two racing requests only the winner records a consent.
    const entity = renderEntity(draft);
    const shared = await this.#requests.move(flow, 'shared', { userId: draft.userId, data: { ...data, entity } });
    await this.#recordConsent(draft, entity, flow.clientId!, flow.id);
    await this.#requests.releaseLock(shared);
    return shared;
  }

  /** Checks the input limit, asks the source, counts wrong inputs, and drafts what could be shared. */
  async #judge(clientId: string, context: OneClickContext, data: OneClickData, phoneMethod: 'otp' | 'customer_otp'): Promise<Judged> {
    const inputs = { birthDate: data.birthDate, ssn4: data.ssn4 };
    const failureKey = this.#failureKey(clientId, context);
    await this.#checkInputAttempts(failureKey, inputs, data);
    const lookup = await this.#requests.source(context.environment).lookup(data.phone, inputs);
    const risk = data.riskSignals ?? lookupRisk(lookup);
    if (lookup.outcome === 'needs_input') return { outcome: 'needs_input', additionalInputs: lookup.additionalInputs, risk };
    if (lookup.outcome === 'mismatch') {
      await this.#recordInputFailures(failureKey, lookup.mismatched);
      return { outcome: 'mismatch', mismatched: lookup.mismatched, risk };
    }
    if (lookup.outcome === 'nothing') return { outcome: 'nothing', risk };
    const draft = buildDraft(data.requests, { ...lookup.sourced, ...(risk ? { riskSignals: risk } : {}) }, { ...data, phoneMethod });
    if (!foundAnything(draft, lookup.sourced)) return { outcome: 'nothing', risk };
    return { outcome: 'found', draft, missing: missingMandatory(draft), risk };
  }

  async #awaitInput(flow: OneClickFlow, data: OneClickData, needs: AdditionalInput[]): Promise<void> {
    const waiting = await this.#requests.move(flow, 'awaiting_input', { data, context: { ...flow.context, needs } });
    await this.#requests.holdUntilExpiry(waiting);
  }

  /** Only what came from the person's wallet is theirs to consent to (the sandbox directory's people are not users). */
  async #recordConsent(draft: Draft, entity: OneClickEntity, clientId: string, flowId: string): Promise<void> {
    if (draft.userId) await this.#requests.d.consents.record(shareConsent(draft, entity, { clientId, flowId }));
  }

  /**
   * Wrong inputs count per brand and environment: a brand can lock a phone out of its own
   * requests only, and a sandbox brand (which compares inputs with mock data) never touches
   * production. A brand still cannot go past the limit with new requests, so the count is
   * the phone's, across requests, not one flow's attempts.
   */
  #failureKey(clientId: string, context: OneClickContext): InputFailureKey {
    return { clientId, environment: context.environment, subjectIndex: context.subjectIndex };
  }

  async #checkInputAttempts(key: InputFailureKey, inputs: AdditionalInputs, data: OneClickData): Promise<void> {
    const asked = (['birthDate', 'ssn4'] as const).filter((k) => inputs[k] !== undefined);
    if (asked.length === 0) return;
    const failures = await this.#requests.d.inputFailures.current(key, this.#requests.d.clock.now());
    const exceeded = asked.filter((k) => (failures.get(k) ?? 0) >= MAX_INPUT_ATTEMPTS);
    if (exceeded.length) throw new OneClickError('input_attempts_exceeded', { inputAttemptsExceeded: exceeded, ...(data.riskSignals ? { riskSignals: data.riskSignals } : {}) });
  }

  async #recordInputFailures(key: InputFailureKey, inputs: AdditionalInput[]): Promise<void> {
    const now = this.#requests.d.clock.now();
    await this.#requests.d.inputFailures.record(key, inputs, now, this.#requests.after(now, this.#requests.d.ttlSeconds));
  }
}

function lookupRisk(lookup: Lookup) {
  return lookup.outcome === 'found' ? lookup.sourced.riskSignals : lookup.riskSignals;
}
