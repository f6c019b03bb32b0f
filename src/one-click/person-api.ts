import type { OneClickTitle } from './brand.ts';
import type { FormCheck } from '../flows/engine.ts';
import type { OneClickCodes } from './codes.ts';
import { OneClickError, type AdditionalInput, type OneClickReason } from './errors.ts';
import { OPEN_STATES, type OneClickFlow } from './flow.ts';
import { checkBirthDate, checkSsn4, given } from './inputs.ts';
import type { LookupAndShare } from './lookup-and-share.ts';
import type { OneClickRequests } from './requests.ts';
import { applyEdits, fieldsOf, type PersonField } from './review.ts';
import type { AdditionalInputs } from './sources/source.ts';

/** What the Hosted pages show; plain data, no markup. */
export interface PersonView {
  uuid: string;
  step: 'code' | 'input' | 'review' | 'shared' | 'declined' | 'failed' | 'expired';
  brand: { name: string; title: OneClickTitle; description?: string };
  /** Last four digits of the phone the code went to. */
  phoneHint: string;
  /** What this page's forms carry (bound to the request and to the browser that entered the code). */
  formToken: string;
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

/**
 * The person's side of 1-Click (the Hosted wallet pages). Whoever opens the link sees the
 * brand and the step, nothing personal. The right code binds the request to that browser
 * (the flow engine's browser binding: the answer's `personToken` is the browser's secret,
 * for a cookie); from then on the data is shown, and the request acted on, only with it.
 */
export class PersonApi {
  readonly #requests: OneClickRequests;
  readonly #codes: OneClickCodes;
  readonly #lookup: LookupAndShare;

  constructor(requests: OneClickRequests, codes: OneClickCodes, lookup: LookupAndShare) {
    this.#requests = requests;
    this.#codes = codes;
    this.#lookup = lookup;
  }

  /**
   * The request as the person sees it. With `code` (a link with ?code=) the code is checked
   * first, as submitCode does; with the `personToken` the data is shown again (a reload).
   */
  async viewForPerson(uuid: string, code?: string, personToken?: string): Promise<PersonView> {
    if (code !== undefined) return this.submitCode(uuid, code);
    return this.#view(await this.#requests.forPerson(uuid), personToken);
  }

  /**
   * The request as a posted form finds it, and whether the form may act on it (the flow
   * engine's answer: `other_browser` once the code was entered elsewhere, `stale_form` for a
   * token that is not this request's pages' as they are now).
   */
  async viewForForm(uuid: string, form: { csrf: unknown; personToken?: string | undefined }): Promise<PersonView & { form: FormCheck }> {
    const flow = await this.#requests.forPerson(uuid);
    const view = await this.#view(flow, form.personToken);
    return { ...view, form: this.#requests.d.flows.checkForm(flow, { csrf: form.csrf, browserSecret: form.personToken }) };
  }

  /**
   * Checks the code; the answer carries `personToken` when it was right. Throws invalid_code
   * (details.attemptsRemaining), code_attempts_exceeded (the request is then over: view it
   * again for the redirect), input_attempts_exceeded and conflict; every other outcome is a
   * step of the view (input, review, failed).
   */
  async submitCode(uuid: string, code: string): Promise<PersonView> {
    const flow = await this.#requests.forPerson(uuid);
    if (flow.state !== 'created') return this.#view(flow);
    const checked = await this.#codes.check(flow, code);
    const { flow: bound, browserSecret } = this.#requests.d.flows.bindBrowser(checked);
    await this.#asStep(() => this.#lookup.advance(bound));
    return { ...(await this.#view(await this.#requests.forPerson(uuid), browserSecret)), personToken: browserSecret };
  }

  /**
   * The birth date / SSN4 the request asked for. Throws input_mismatch (details.mismatched),
   * input_attempts_exceeded, invalid_input; other outcomes are steps of the view.
   */
  async provideInput(uuid: string, inputs: AdditionalInputs, personToken?: string): Promise<PersonView> {
    const flow = await this.#requests.forPerson(uuid);
    if (flow.state !== 'awaiting_input') return this.#view(flow, personToken);
    this.#requireBrowser(flow, personToken);
    const checked = { birthDate: checkBirthDate(given(inputs.birthDate)), ssn4: checkSsn4(given(inputs.ssn4)) };
    if (checked.birthDate === undefined && checked.ssn4 === undefined) throw new OneClickError('additional_input_required', { additionalInputs: flow.context.needs ?? ['birthDate'] });
    const outcome = await this.#asStep(() => this.#lookup.advance(flow, checked));
    if (outcome?.reason === 'input_mismatch') throw outcome;
    return this.#view(await this.#requests.forPerson(uuid), personToken);
  }

  /**
   * The person shares the reviewed data, with their edits (field id → value). Records the
   * consent and returns where to send them: the redirect URL with `identityUuid`.
   * Throws invalid_input (details.explanation) when an edit is refused or a required field is empty.
   */
  async share(uuid: string, edits: Record<string, string>, personToken?: string): Promise<{ redirectUrl: string }> {
    const requests = this.#requests;
    const flow = await requests.forPerson(uuid);
    if (flow.expired) throw new OneClickError('request_expired');
    if (flow.state === 'shared') return { redirectUrl: requests.redirect(flow) };
    if (flow.state === 'created') throw new OneClickError('code_required');
    if (flow.state !== 'code_verified' && flow.state !== 'awaiting_input') return requests.closed(flow);
    this.#requireBrowser(flow, personToken);
    if (flow.state === 'awaiting_input') throw new OneClickError('additional_input_required', { additionalInputs: flow.context.needs ?? ['birthDate'] });
    await this.#lookup.share(flow, applyEdits(flow.data.draft!, edits));
    return { redirectUrl: requests.redirect(flow) };
  }

  /**
   * The person says no (before the code, anyone holding the link may; after it, only the
   * browser that entered it). The operator learns it from the redirect (`error=declined`)
   * and from GET (OCE021).
   */
  async decline(uuid: string, personToken?: string): Promise<{ redirectUrl: string }> {
    const requests = this.#requests;
    const flow = await requests.forPerson(uuid);
    if ((OPEN_STATES as string[]).includes(flow.state)) {
      if (flow.state !== 'created') this.#requireBrowser(flow, personToken);
      const declined = await requests.move(flow, 'declined');
      await requests.releaseLock(declined);
      return { redirectUrl: requests.redirect(declined, 'declined') };
    }
    return { redirectUrl: (await this.#view(flow)).redirectUrl ?? requests.redirect(flow) };
  }

  /** Runs a step for the person: outcomes that are steps of the page come back, not as errors. */
  async #asStep(step: () => Promise<unknown>): Promise<OneClickError | undefined> {
    try {
      await step();
      return undefined;
    } catch (error) {
      if (error instanceof OneClickError && !['input_attempts_exceeded', 'conflict', 'invalid_input'].includes(error.reason)) return error;
      throw error;
    }
  }

  #requireBrowser(flow: OneClickFlow, personToken: string | undefined): void {
    if (!this.#requests.d.flows.isBrowserOf(flow, personToken)) throw new OneClickError('person_token_required');
  }

  async #view(flow: OneClickFlow, personToken?: string): Promise<PersonView> {
    const requests = this.#requests;
    const base = {
      uuid: flow.id,
      brand: requests.brandOf(flow),
      phoneHint: flow.data.phone.slice(-4),
      formToken: requests.d.flows.formToken(flow),
      ...(flow.data.redirectUrl ? { returnsTo: flow.data.redirectUrl } : {}),
    };
    const mine = requests.d.flows.isBrowserOf(flow, personToken);
    if (flow.expired) return { ...base, step: 'expired', redirectUrl: requests.redirect(flow, 'request_expired') };
    switch (flow.state) {
      case 'created':
        return { ...base, step: 'code' };
      case 'awaiting_input':
        return mine ? { ...base, step: 'input', additionalInputs: flow.context.needs ?? ['birthDate'] } : { ...base, step: 'input', locked: true };
      case 'code_verified':
        return mine ? { ...base, step: 'review', fields: fieldsOf(flow.data.draft!) } : { ...base, step: 'review', locked: true };
      case 'shared':
        return { ...base, step: 'shared', redirectUrl: requests.redirect(flow) };
      case 'declined':
        return { ...base, step: 'declined', redirectUrl: requests.redirect(flow, 'declined') };
      default: {
        const reason = flow.context.failure?.reason ?? 'nothing_found';
        return { ...base, step: 'failed', failure: reason, redirectUrl: requests.redirect(flow, reason) };
      }
    }
  }
}
