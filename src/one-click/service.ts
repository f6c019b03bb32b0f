import { OneClickCodes } from './codes.ts';
import { LookupAndShare } from './lookup-and-share.ts';
import { OperatorApi } from './operator-api.ts';
import { PersonApi } from './person-api.ts';
import { OneClickRequests, type OneClickServiceDeps } from './requests.ts';

/**
 * 1-Click: an operator asks for a person's verified data by phone and gets it in one click,
 * with the person's consent. Two doors into one request: the operator's API
 * (`operator-api.ts`, behind the Verified-compatible facade) and the person's Hosted pages
 * (`person-api.ts`); the person is found and the data shared in one place
 * (`lookup-and-share.ts`); codes in `codes.ts`; the request itself, over the flow engine
 * (which owns its expiry, code attempts and browser binding), in `requests.ts`.
 */
export class OneClickService {
  readonly #requests: OneClickRequests;
  readonly #operator: OperatorApi;
  readonly #person: PersonApi;

  constructor(deps: OneClickServiceDeps) {
    this.#requests = new OneClickRequests(deps);
    const codes = new OneClickCodes(this.#requests);
    const lookup = new LookupAndShare(this.#requests);
    this.#operator = new OperatorApi(this.#requests, codes, lookup);
    this.#person = new PersonApi(this.#requests, codes, lookup);
  }

  // The operator's side (POST / GET / PATCH /1-click).
  start: OperatorApi['start'] = (...args) => this.#operator.start(...args);
  retrieve: OperatorApi['retrieve'] = (...args) => this.#operator.retrieve(...args);
  provideInputs: OperatorApi['provideInputs'] = (...args) => this.#operator.provideInputs(...args);

  // The person's side (the Hosted wallet pages).
  viewForPerson: PersonApi['viewForPerson'] = (...args) => this.#person.viewForPerson(...args);
  viewForForm: PersonApi['viewForForm'] = (...args) => this.#person.viewForForm(...args);
  submitCode: PersonApi['submitCode'] = (...args) => this.#person.submitCode(...args);
  provideInput: PersonApi['provideInput'] = (...args) => this.#person.provideInput(...args);
  share: PersonApi['share'] = (...args) => this.#person.share(...args);
  decline: PersonApi['decline'] = (...args) => this.#person.decline(...args);

  /**
   * Deletes phone holds and input-failure counts whose time is up (they also heal by
   * themselves: an expired row is replaced when the phone comes back). For the periodic purge.
   */
  async purgeExpired(now: Date = this.#requests.d.clock.now()): Promise<number> {
    return (await this.#requests.d.locks.purgeExpired(now)) + (await this.#requests.d.inputFailures.purgeExpired(now));
  }
}
