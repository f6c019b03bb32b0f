import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { FlowEngine } from '../flows/engine.ts';
import { Wallet } from '../identity/wallet.ts';
import type { Clock } from '../kernel/clock.ts';
import type { Consents } from '../consent/consents.ts';
import { Codes } from '../codes/codes.ts';
import { CodesRepo } from '../storage/codes-repo.ts';
import type { CredentialsRepo } from '../storage/credentials-repo.ts';
import type { Db } from '../storage/db.ts';
import type { EventsRepo } from '../storage/events-repo.ts';
import { OneClickInputFailuresRepo } from '../storage/one-click-input-failures-repo.ts';
import { OneClickPhoneLocksRepo } from '../storage/one-click-phone-locks-repo.ts';
import type { Sealer } from '../storage/sealer.ts';
import type { UsersRepo } from '../storage/users-repo.ts';
import type { CodeSender } from './requests.ts';
import { OneClickService } from './service.ts';

export interface OneClickServices {
  oneClick: OneClickService;
}

/** Builds 1-Click over the shared repositories (called once, from services.ts). */
export function createOneClickServices(deps: {
  config: Config;
  db: Db;
  sealer: Sealer;
  clock: Clock;
  logger: Logger;
  repos: { users: UsersRepo; credentials: CredentialsRepo; events: EventsRepo };
  flows: FlowEngine;
  consents: Consents;
  sms?: CodeSender | undefined;
}): OneClickServices {
  const { config, db, sealer, clock, logger, repos } = deps;
  return {
    oneClick: new OneClickService({
      flows: deps.flows,
      locks: new OneClickPhoneLocksRepo(db),
      inputFailures: new OneClickInputFailuresRepo(db),
      events: repos.events,
      users: repos.users,
      wallet: new Wallet(repos.credentials, repos.events, clock),
      consents: deps.consents,
      sealer,
      codes: new Codes(new CodesRepo(db), sealer, clock),
      clock,
      logger,
      issuer: config.issuer,
      ttlSeconds: config.oneClick.ttlSeconds,
      allowInsecureLoopback: config.env === 'development',
      sms: deps.sms,
    }),
  };
}
