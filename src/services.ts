import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import type { Clock } from './kernel/clock.ts';
import type { Keyring } from './kernel/sealing.ts';
import type { Db, Queryable } from './storage/db.ts';
import { ApiKeysRepo } from './storage/api-keys-repo.ts';
import { ApiKeyService } from './clients/api-key-service.ts';
import { ClientsRepo } from './storage/clients-repo.ts';
import { OidcPayloadsRepo } from './storage/oidc-payloads-repo.ts';
import { platformSecret } from './storage/platform-secrets.ts';
import { Sealer } from './storage/sealer.ts';
import { SigningKeysRepo } from './storage/signing-keys-repo.ts';
import { UsersRepo } from './storage/users-repo.ts';
import { CredentialsRepo } from './storage/credentials-repo.ts';
import { ConsentsRepo } from './storage/consents-repo.ts';
import { EventsRepo } from './storage/events-repo.ts';
import { FlowsRepo } from './storage/flows-repo.ts';
import { FlowEngine } from './flows/engine.ts';
import { Wallet } from './identity/wallet.ts';
import { Consents } from './consent/consents.ts';
import { ClientService } from './clients/client-service.ts';
import { PasswordHasher } from './identity/passwords.ts';
import { PasswordSignIn } from './identity/password-sign-in.ts';
import { limitCatalogue, type LimitCatalogue } from './limits/catalogue.ts';
import { Limits } from './limits/limits.ts';
import { createLimitStore } from './limits/stores.ts';
import { UserService } from './identity/users.ts';
import { OAuthEngine } from './oauth/engine.ts';
import { oauthPages } from './ui/pages/oauth.ts';
import { ensureSigningKey } from './oauth/signing-keys.ts';
import { buildProviders, buildVerificationEngine } from './verification/registry.ts';
import type { VerificationEngine } from './verification/engine.ts';
import { createSmsSender, type DevOutboxSender, type SmsSender } from './notifications/sms/index.ts';
import { createOneClickServices, type OneClickServices } from './one-click/wiring.ts';
import { WebhookService } from './notifications/webhooks/service.ts';
import { EventLog } from './notifications/event-log.ts';
import { AuditLog } from './audit/audit-log.ts';
import { auditKey } from './audit/checkpoint.ts';
import { Metrics } from './telemetry/metrics.ts';
import { SecurityEvents } from './telemetry/security-events.ts';
import { WebhookDeliveriesRepo } from './storage/webhook-deliveries-repo.ts';

export interface ServiceDeps {
  config: Config;
  db: Db;
  keyring: Keyring;
  clock: Clock;
  logger: Logger;
}

/** The core, wired once. The HTTP app, the CLI and the tests all build it through here. */
export interface Services {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  keyring: Keyring;
  repos: {
    users: UsersRepo;
    clients: ClientsRepo;
    payloads: OidcPayloadsRepo;
    signingKeys: SigningKeysRepo;
    credentials: CredentialsRepo;
    consents: ConsentsRepo;
    flows: FlowsRepo;
    events: EventsRepo;
  };
  sealer: Sealer;
  flows: FlowEngine;
  wallet: Wallet;
  /** The one record of every hand-over of personal data to an operator, whatever the door. */
  consents: Consents;
  hasher: PasswordHasher;
  users: UserService;
  clients: ClientService;
  signIn: PasswordSignIn;
  /** Counters shared by every node (database, or Redis): sign-in attempts, SMS sends, verification starts. */
  limits: Limits;
  limitCatalogue: LimitCatalogue;
  oauth: OAuthEngine;
  /** Secret for binding forms to their page (CSRF), derived once per deployment. */
  formKey: Buffer;
  /** Identity verification (KYC): sessions with providers, results, evidence. */
  verification: VerificationEngine;
  /** Sends SMS (verification codes) through the configured provider, within the send limits. */
  sms: SmsSender;
  /** Only with IDFLOW_SMS_SENDER=dev: what was "sent", for GET /dev/sms-outbox. */
  smsOutbox?: DevOutboxSender;
  /** 1-Click requests (Verified-compatible API, Hosted pages). */
  oneClick: OneClickServices['oneClick'];
  /** API keys of clients (1-Click API authentication). */
  apiKeys: ApiKeyService;
  /** Webhook subscriptions, their deliveries and attempts, redelivery (docs/notifications.md). */
  webhooks: WebhookService;
  /** Registration over `q` (the database or a transaction), for changes that must land together. */
  registrationOn(q: Queryable): Registration;
  /** The tamper-evident audit log: listing, signed checkpoints, verification. */
  audit: AuditLog;
  /** The events every flow records, as an operator lists them (the admin API). */
  events: EventLog;
  /** This process's Prometheus metrics (`/metrics`), and the webhook queue read at scrape time. */
  metrics: Metrics;
  /** Failed sign-ins, limits refusing, reuse, failed verifications: log line, metric, event. */
  security: SecurityEvents;
}

/** What registers clients, users and API keys, over one `Queryable`. */
export interface Registration {
  clients: ClientService;
  users: UserService;
  apiKeys: ApiKeyService;
  webhooks: WebhookService;
}

export async function createServices(deps: ServiceDeps): Promise<Services> {
  const { config, db, keyring, clock, logger } = deps;
  const [indexKey, cookieKey, formKey, limitKey, auditSeed] = await Promise.all([
    platformSecret(db, keyring, 'blind_index_key'),
    platformSecret(db, keyring, 'cookie_key'),
    platformSecret(db, keyring, 'form_key'),
    platformSecret(db, keyring, 'limit_key'),
    // The seed of the Ed25519 key that signs audit checkpoints.
    platformSecret(db, keyring, 'audit_key'),
  ]);
  const sealer = new Sealer(keyring, indexKey);
  const repos = {
    users: new UsersRepo(db, sealer),
    clients: new ClientsRepo(db),
    payloads: new OidcPayloadsRepo(db, sealer),
    signingKeys: new SigningKeysRepo(db, keyring),
    credentials: new CredentialsRepo(db, sealer),
    consents: new ConsentsRepo(db),
    flows: new FlowsRepo(db, sealer),
    events: new EventsRepo(db),
  };
  const hasher = new PasswordHasher(config.password);
  const clientRules = { allowInsecureLoopback: config.env === 'development' };
  const webhookRules = { requireHttps: config.env === 'production', allowedNetworks: config.webhooks.allowedNetworks };
  const webhooksOn = (q: Queryable, clients: ClientsRepo) => new WebhookService({ db: q, keyring, clients, clock, rules: webhookRules });
  const registrationOn = (q: Queryable): Registration => {
    const clientsRepo = new ClientsRepo(q);
    return {
      clients: new ClientService(clientsRepo, clientRules),
      users: new UserService(new UsersRepo(q, sealer), hasher),
      apiKeys: new ApiKeyService(new ApiKeysRepo(q), clientsRepo, new EventsRepo(q), clock),
      webhooks: webhooksOn(q, clientsRepo),
    };
  };
  const consents = new Consents(repos.consents, clock);
  const metrics = new Metrics({ backlog: () => new WebhookDeliveriesRepo(db, keyring).backlog(clock.now()), now: () => clock.now() });
  const security = new SecurityEvents({ metrics, events: repos.events, logger, clock });
  const catalogue = limitCatalogue(config);
  const limits = new Limits(await createLimitStore(config, db, clock, logger), limitKey, security);
  const signIn = new PasswordSignIn(repos.users, hasher, limits, catalogue.signIn, repos.events, clock, security);
  await ensureSigningKey(db, keyring, clock);
  const sms = createSmsSender(config, clock, logger, { limits, catalogue: catalogue.sms });
  const oauth = await OAuthEngine.create({
    issuer: config.issuer,
    trustProxy: config.trustProxy !== false,
    allowInsecureLoopback: config.env === 'development',
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
    cookieKeys: [cookieKey],
    clock,
    clients: repos.clients,
    users: repos.users,
    payloads: repos.payloads,
    signingKeys: repos.signingKeys,
    signIn,
    logger,
    pages: oauthPages,
    identityAssurance: { credentials: repos.credentials, trustFrameworks: Object.values(buildProviders(config, clock).trustFrameworks) },
    security,
  });
  const flows = new FlowEngine(repos.flows, clock, formKey);
  return {
    config,
    db,
    clock,
    logger,
    keyring,
    repos,
    sealer,
    flows,
    wallet: new Wallet(repos.credentials, repos.events, clock),
    consents,
    hasher,
    users: new UserService(repos.users, hasher),
    clients: new ClientService(repos.clients, clientRules),
    signIn,
    limits,
    limitCatalogue: catalogue,
    oauth,
    formKey,
    verification: buildVerificationEngine({ config, db, sealer, clock, logger, limits: { limits, catalogue: catalogue.verificationStart }, security }),
    sms: sms.sender,
    smsOutbox: sms.outbox,
    ...createOneClickServices({ config, db, sealer, clock, logger, repos, flows, consents, sms: sms.sender }),
    apiKeys: new ApiKeyService(new ApiKeysRepo(db), repos.clients, repos.events, clock),
    webhooks: webhooksOn(db, repos.clients),
    registrationOn,
    audit: new AuditLog({ db, key: await auditKey(auditSeed), clock, checkpointEverySeconds: config.audit.checkpointEverySeconds }),
    events: new EventLog(db),
    metrics,
    security,
  };
}
