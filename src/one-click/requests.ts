import type { Logger } from 'pino';
import type { Environment, OneClickBrand, OneClickTitle } from './brand.ts';
import type { FlowEngine } from '../flows/engine.ts';
import type { Wallet } from '../identity/wallet.ts';
import type { Codes } from '../codes/codes.ts';
import type { Consents } from '../consent/consents.ts';
import type { Clock } from '../kernel/clock.ts';
import { isAppError } from '../kernel/errors.ts';
import type { EventsRepo } from '../storage/events-repo.ts';
import type { OneClickInputFailuresRepo } from '../storage/one-click-input-failures-repo.ts';
import type { OneClickPhoneLocksRepo } from '../storage/one-click-phone-locks-repo.ts';
import type { Sealer } from '../storage/sealer.ts';
import type { UsersRepo } from '../storage/users-repo.ts';
import { OneClickError, type OneClickErrorDetails, type OneClickReason } from './errors.ts';
import { oneClickFlow, type OneClickContext, type OneClickData, type OneClickFlow, type OneClickState } from './flow.ts';
import { SandboxDirectory } from './sources/sandbox-directory.ts';
import type { IdentitySource } from './sources/source.ts';
import { WalletSource } from './sources/wallet-source.ts';

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

export interface OneClickServiceDeps {
  flows: FlowEngine;
  locks: OneClickPhoneLocksRepo;
  inputFailures: OneClickInputFailuresRepo;
  events: EventsRepo;
  users: UsersRepo;
  wallet: Wallet;
  consents: Consents;
  sealer: Sealer;
  /** The platform's codes: the request's code is one of them. */
  codes: Codes;
  clock: Clock;
  logger: Logger;
  /** Base URL of the Hosted pages. */
  issuer: string;
  ttlSeconds: number;
  /** Development: a brand's redirect URL may be plain http on this machine (the redirect policy). */
  allowInsecureLoopback: boolean;
  /** Texts the code when a client opts in (`one_click.send_sms`). */
  sms?: CodeSender | undefined;
}

export type OneClickChanges = { data?: OneClickData; context?: OneClickContext; userId?: string | undefined };

/**
 * The 1-Click request as both doors (the operator's API, the person's pages) read and move
 * it: over the flow engine, which decides expiry, attempts and what an ended request keeps;
 * with the phone's hold, the request's events and where its data comes from.
 */
export class OneClickRequests {
  readonly d: OneClickServiceDeps;
  readonly #sandbox = new SandboxDirectory();
  readonly #walletSource: WalletSource;

  constructor(deps: OneClickServiceDeps) {
    this.d = deps;
    this.#walletSource = new WalletSource(deps.users, deps.wallet);
  }

  /** The sandbox directory answers a sandbox brand; the wallet a production one. */
  source(environment: Environment): IdentitySource {
    return environment === 'sandbox' ? this.#sandbox : this.#walletSource;
  }

  /** The caller's request; another client's is as unknown to it as one that never was. Past its time: request_expired. */
  async forOperator(caller: OneClickCaller, uuid: string): Promise<OneClickFlow> {
    const flow = (await this.d.flows.find(oneClickFlow, uuid)) as OneClickFlow | undefined;
    if (!flow || flow.clientId !== caller.clientId) throw new OneClickError('request_not_found');
    if (flow.expired) throw new OneClickError('request_expired');
    return flow;
  }

  /** A Hosted request (only those have pages; a Semi-Hosted uuid must not open one), expired or not. */
  async forPerson(uuid: string): Promise<OneClickFlow> {
    const flow = (await this.d.flows.find(oneClickFlow, uuid)) as OneClickFlow | undefined;
    if (!flow || flow.context.integration !== 'hosted') throw new OneClickError('request_not_found');
    return flow;
  }

  async move(flow: OneClickFlow, to: OneClickState, changes: OneClickChanges = {}, event?: { payload?: Record<string, unknown> }): Promise<OneClickFlow> {
    return this.#exactlyOnce(async () => (await this.d.flows.transition(oneClickFlow, flow, to, changes, event)) as OneClickFlow);
  }

  /**
   * A wrong code, counted by the engine. On the Hosted pages the last one allowed ends the
   * request at once (code_attempts_exceeded), so the person is not shown a code form that
   * can no longer succeed; a Semi-Hosted operator hears of it first (OCE008), and the next
   * try ends it (OCE018), as Verified documents.
   */
  async failCode(flow: OneClickFlow): Promise<{ flow: OneClickFlow; attemptsLeft: number }> {
    const reason: OneClickReason = 'code_attempts_exceeded';
    const counted = await this.#exactlyOnce(() =>
      this.d.flows.failAttempt(oneClickFlow, flow, {
        ending: { context: { ...flow.context, failure: { reason } } },
        event: { payload: { reason } },
        endAtLast: flow.context.integration === 'hosted',
      }),
    );
    if (counted.flow.state === 'failed') await this.releaseLock(counted.flow as OneClickFlow);
    return counted as { flow: OneClickFlow; attemptsLeft: number };
  }

  attemptsLeft(flow: OneClickFlow): number {
    return this.d.flows.attemptsLeft(oneClickFlow, flow);
  }

  /** Ends the request with a reason that later reads give again. */
  async fail(flow: OneClickFlow, reason: OneClickReason): Promise<never> {
    const failed = await this.move(flow, 'failed', { context: { ...flow.context, failure: { reason } } }, { payload: { reason } });
    await this.releaseLock(failed);
    throw new OneClickError(reason, this.risk(flow));
  }

  /** Answers for a request that is over (declined, failed, expired). */
  closed(flow: OneClickFlow): never {
    if (flow.state === 'declined') throw new OneClickError('declined');
    if (flow.state === 'failed') throw new OneClickError(flow.context.failure?.reason ?? 'nothing_found', this.risk(flow));
    throw new OneClickError('request_expired');
  }

  risk(flow: OneClickFlow): OneClickErrorDetails {
    return flow.data.riskSignals ? { riskSignals: flow.data.riskSignals } : {};
  }

  /** The operator's redirect URL with `identityUuid` (and `error` when the person did not share). */
  redirect(flow: OneClickFlow, error?: string): string {
    const url = new URL(flow.data.redirectUrl!);
    url.searchParams.set('identityUuid', flow.id);
    if (error) url.searchParams.set('error', error);
    return url.toString();
  }

  brandOf(flow: OneClickFlow): { name: string; title: OneClickTitle; description?: string } {
    return { name: flow.context.brandName, title: flow.context.title, ...(flow.context.description ? { description: flow.context.description } : {}) };
  }

  async holdUntilExpiry(flow: OneClickFlow): Promise<void> {
    await this.d.locks.extend({ clientId: flow.clientId!, subjectIndex: flow.context.subjectIndex, token: flow.context.lockToken, expiresAt: flow.expiresAt });
  }

  async releaseLock(flow: OneClickFlow): Promise<void> {
    await this.d.locks.release({ clientId: flow.clientId!, subjectIndex: flow.context.subjectIndex, token: flow.context.lockToken });
  }

  async event(type: string, clientId: string, payload: Record<string, unknown>): Promise<void> {
    await this.d.events.record({ type, clientId, payload }, this.d.clock.now());
  }

  after(now: Date, seconds: number): Date {
    return new Date(now.getTime() + seconds * 1000);
  }

  /**
   * Someone else moved this request first (a second GET with the same code, a double
   * submit): exactly one wins; the other is told to try again.
   */
  async #exactlyOnce<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (isAppError(error) && error.code === 'flow_conflict') throw new OneClickError('conflict');
      throw error;
    }
  }
}
