import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { isSupportedCountry } from 'libphonenumber-js/max';

/**
 * Configuration comes from environment variables only, validated at start. A bad value
 * names its variable; the process then exits non-zero (src/main.ts).
 * The README's configuration table lists the same variables: keep the two in step.
 */
export interface Config {
  env: 'development' | 'production';
  port: number;
  host: string;
  issuer: string;
  databaseUrl: string | undefined;
  dataDir: string;
  sealingKeys: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * The proxies in front of idflow (addresses/CIDRs) whose X-Forwarded-For is believed, or
   * false: the client's address is the connection's. Fastify's `trustProxy`.
   */
  trustProxy: false | string[];
  /** Redis for the limits' counters; without it they live in the database. */
  redisUrl: string | undefined;
  importFile: string | undefined;
  password: { memoryKiB: number; iterations: number; parallelism: number };
  accessTokenTtl: number;
  refreshTokenTtl: number;
  signInThrottle: {
    /** Failed sign-ins of one account from one client address. */
    accountIpFailures: number;
    /** Failed sign-ins of one account from all addresses together: a much higher ceiling. */
    accountFailures: number;
    /** Failed sign-ins from one client address, whatever the account. */
    ipFailures: number;
    windowSeconds: number;
  };
  /** Verification starts (each may be a paid vendor session) per client address and per client, per hour. */
  verificationStarts: { perIpPerHour: number; perClientPerHour: number };
  sms: SmsConfig;
  verification: VerificationConfig;
  oneClick: {
    /** Seconds a 1-Click request lives (PATCH and GET must come within it). */
    ttlSeconds: number;
  };
  webhooks: WebhookConfig;
  audit: {
    /** Seconds between the signed checkpoints the server makes of the audit log; 0: none (then only `idflow audit checkpoint`). */
    checkpointEverySeconds: number;
  };
}

/** Operator notifications (docs/notifications.md). */
export interface WebhookConfig {
  /** Whether this node sends deliveries (every node may; they share the work). */
  worker: boolean;
  /** Longest an attempt may take, connection to last byte. */
  timeoutMs: number;
  /** An endpoint failing for this long without a success is disabled. */
  disableAfterMs: number;
  /** How often a worker looks for new events and due deliveries. */
  pollMs: number;
  /** Attempts in flight on one node at once, and at most per subscription. */
  concurrency: number;
  concurrencyPerEndpoint: number;
  /** Special ranges deliveries may reach anyway: `loopback`, `private`, `linklocal` or CIDRs. */
  allowedNetworks: string[];
}

export interface VerificationConfig {
  /** Seconds a verification waits for its result before it expires (provider_timeout). */
  ttlSeconds: number;
  /** The built-in sandbox provider, which passes anyone who types a valid MRZ: on by default in development only. */
  sandbox: boolean;
  /** The provider used when a caller names none. */
  defaultProvider: string | undefined;
  /** Largest image accepted by a hosted upload step, in bytes. */
  maxImageBytes: number;
  /** Largest width × height of an image accepted (uploaded or from a vendor); checked from its header, before decoding. */
  maxImagePixels: number;
  /** Largest width or height of an image accepted. */
  maxImageSide: number;
  /** Days a finished verification keeps its images (then the purge deletes them). */
  imageRetentionDays: number;
  /** Veriff, when its three variables are set. */
  veriff: { apiKey: string; sharedSecret: string; baseUrl: string; trustFramework: string } | undefined;
}

export interface SmsConfig {
  /** dev: in-memory outbox (development only); twilio: Twilio's Messages API; none: sending SMS is refused. */
  sender: 'dev' | 'twilio' | 'none';
  twilio: { accountSid: string; authToken: string; from: string | undefined; messagingServiceSid: string | undefined; baseUrl: string } | undefined;
  limits: { phonePer10Min: number; phonePerDay: number; clientPerHour: number };
  /** ISO 3166-1 alpha-2 codes SMS may go to; undefined: every country. */
  allowedCountries: string[] | undefined;
}

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, fallback: string | undefined, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be an absolute URL');
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `must use ${protocols.join(' or ')}`);
  return raw;
}

/** An IP address, or one with a prefix length its family allows (`10.0.0.0/8`, `2001:db8::/32`). */
function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address ?? '');
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
  return family !== 0 && prefixOk && extra === undefined;
}

/**
 * IDFLOW_TRUST_PROXY: the addresses or CIDRs of the proxies in front of idflow, whose
 * X-Forwarded-For entries are believed (right to left, up to the first address that is not
 * one of them). `true` is refused: it would take the left-most entry, which the client
 * writes itself, so anyone could pick the address every per-IP limit counts. A number of
 * hops is refused too: it cannot tell the load balancer from a client that reaches idflow
 * directly, and Fastify ignores X-Forwarded-For for it.
 */
function trustProxy(env: Env): false | string[] {
  const name = 'IDFLOW_TRUST_PROXY';
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '' || ['false', 'no'].includes(raw)) return false;
  const how = 'list the addresses or CIDRs of the proxies in front of idflow, e.g. 10.0.0.0/8 or 192.0.2.7,2001:db8::/32 (loopback, linklocal and uniquelocal name the usual private ranges)';
  if (['true', 'yes', '1'].includes(raw)) throw new ConfigError(name, `true would believe any X-Forwarded-For a client sends; ${how}`);
  if (/^\d+$/.test(raw)) throw new ConfigError(name, `a number of proxies cannot tell a proxy from a client that connects directly; ${how}`);
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
    if (!isAddressOrCidr(entry)) throw new ConfigError(name, `"${entry}" is not an address or CIDR; ${how}`);
  }
  return entries;
}

function smsConfig(env: Env, idflowEnv: 'development' | 'production'): SmsConfig {
  // Production has no default sender that could leak codes: without a choice, SMS is off.
  const sender = oneOf(env, 'IDFLOW_SMS_SENDER', idflowEnv === 'development' ? 'dev' : 'none', ['dev', 'twilio', 'none'] as const);
  if (sender === 'dev' && idflowEnv === 'production') {
    throw new ConfigError('IDFLOW_SMS_SENDER', 'must be twilio or none when IDFLOW_ENV=production (dev keeps codes in memory and in the log)');
  }
  let twilio: SmsConfig['twilio'];
  if (sender === 'twilio') {
    const accountSid = env.IDFLOW_TWILIO_ACCOUNT_SID ?? '';
    if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid)) throw new ConfigError('IDFLOW_TWILIO_ACCOUNT_SID', 'is required with IDFLOW_SMS_SENDER=twilio and must be AC followed by 32 hex digits');
    const authToken = env.IDFLOW_TWILIO_AUTH_TOKEN ?? '';
    // The value is never repeated in the message: it is a secret.
    if (!/^[A-Za-z0-9_-]{16,256}$/.test(authToken)) throw new ConfigError('IDFLOW_TWILIO_AUTH_TOKEN', 'is required with IDFLOW_SMS_SENDER=twilio and must be the Auth Token as shown by Twilio (no spaces or quotes)');
    const from = env.IDFLOW_TWILIO_FROM || undefined;
    // An E.164 number, a short code, or an alphanumeric sender ID (up to 11 characters, one letter at least).
    if (from !== undefined && !/^(\+[1-9]\d{6,14}|\d{5,6}|(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11})$/.test(from)) {
      throw new ConfigError('IDFLOW_TWILIO_FROM', `must be an E.164 number, a short code or an alphanumeric sender ID, got "${from}"`);
    }
    const messagingServiceSid = env.IDFLOW_TWILIO_MESSAGING_SERVICE_SID || undefined;
    if (messagingServiceSid !== undefined && !/^MG[0-9a-fA-F]{32}$/.test(messagingServiceSid)) {
      throw new ConfigError('IDFLOW_TWILIO_MESSAGING_SERVICE_SID', `must be MG followed by 32 hex digits, got "${messagingServiceSid}"`);
    }
    if (!from && !messagingServiceSid) throw new ConfigError('IDFLOW_TWILIO_FROM', 'or IDFLOW_TWILIO_MESSAGING_SERVICE_SID is required with IDFLOW_SMS_SENDER=twilio');
    const baseUrl = url(env, 'IDFLOW_TWILIO_BASE_URL', 'https://api.twilio.com', ['https:', 'http:'])!.replace(/\/+$/, '');
    if (idflowEnv === 'production' && !baseUrl.startsWith('https://')) throw new ConfigError('IDFLOW_TWILIO_BASE_URL', 'must be https:// when IDFLOW_ENV=production');
    twilio = { accountSid, authToken, from, messagingServiceSid, baseUrl };
  }
  const limits = {
    phonePer10Min: integer(env, 'IDFLOW_SMS_PHONE_LIMIT_PER_10MIN', 3, 1, 1000),
    phonePerDay: integer(env, 'IDFLOW_SMS_PHONE_LIMIT_PER_DAY', 10, 1, 10000),
    clientPerHour: integer(env, 'IDFLOW_SMS_CLIENT_LIMIT_PER_HOUR', 100, 1, 10_000_000),
  };
  if (limits.phonePer10Min > limits.phonePerDay) {
    throw new ConfigError('IDFLOW_SMS_PHONE_LIMIT_PER_10MIN', `must not exceed IDFLOW_SMS_PHONE_LIMIT_PER_DAY (${limits.phonePerDay})`);
  }
  let allowedCountries: string[] | undefined;
  const countries = env.IDFLOW_SMS_ALLOWED_COUNTRIES?.trim();
  if (countries) {
    allowedCountries = countries.split(',').map((c) => c.trim().toUpperCase());
    for (const country of allowedCountries) {
      if (!/^[A-Z]{2}$/.test(country) || !isSupportedCountry(country)) {
        throw new ConfigError('IDFLOW_SMS_ALLOWED_COUNTRIES', `must be comma-separated ISO 3166-1 alpha-2 country codes (e.g. US,CA), got "${country}"`);
      }
    }
  }
  return { sender, twilio, limits, allowedCountries };
}

function verificationConfig(env: Env, idflowEnv: 'development' | 'production'): VerificationConfig {
  const names = ['IDFLOW_VERIFF_API_KEY', 'IDFLOW_VERIFF_SHARED_SECRET', 'IDFLOW_VERIFF_BASE_URL'] as const;
  const set = names.filter((n) => env[n]);
  if (set.length > 0 && set.length < names.length) {
    throw new ConfigError(names.find((n) => !env[n])!, `is required with ${set.join(' and ')} (Veriff needs all three)`);
  }
  let veriff: VerificationConfig['veriff'];
  if (set.length === names.length) {
    // Neither secret is repeated in a message.
    if (!/^[A-Za-z0-9-]{8,128}$/.test(env.IDFLOW_VERIFF_API_KEY!)) throw new ConfigError('IDFLOW_VERIFF_API_KEY', 'must be the API key as shown by Veriff (letters, digits and dashes)');
    if (!/^[A-Za-z0-9-]{8,128}$/.test(env.IDFLOW_VERIFF_SHARED_SECRET!)) throw new ConfigError('IDFLOW_VERIFF_SHARED_SECRET', 'must be the shared secret key as shown by Veriff (letters, digits and dashes)');
    const baseUrl = url(env, 'IDFLOW_VERIFF_BASE_URL', undefined, ['https:', 'http:'])!.replace(/\/+$/, '');
    if (idflowEnv === 'production' && !baseUrl.startsWith('https://')) throw new ConfigError('IDFLOW_VERIFF_BASE_URL', 'must be https:// when IDFLOW_ENV=production');
    const trustFramework = env.IDFLOW_VERIFF_TRUST_FRAMEWORK || 'veriff';
    if (!/^[a-z0-9_]{2,64}$/.test(trustFramework)) throw new ConfigError('IDFLOW_VERIFF_TRUST_FRAMEWORK', `must be a trust framework name such as uk_tfida or de_aml, got "${trustFramework}"`);
    veriff = { apiKey: env.IDFLOW_VERIFF_API_KEY!, sharedSecret: env.IDFLOW_VERIFF_SHARED_SECRET!, baseUrl, trustFramework };
  }
  const sandbox = bool(env, 'IDFLOW_VERIFICATION_SANDBOX', idflowEnv === 'development');
  const available = [...(sandbox ? ['sandbox'] : []), ...(veriff ? ['veriff'] : [])];
  const defaultProvider = env.IDFLOW_VERIFICATION_PROVIDER || (veriff ? 'veriff' : available[0]);
  if (defaultProvider !== undefined && !available.includes(defaultProvider)) {
    throw new ConfigError('IDFLOW_VERIFICATION_PROVIDER', `must be one of the configured providers (${available.join(', ') || 'none'}), got "${defaultProvider}"`);
  }
  return {
    ttlSeconds: integer(env, 'IDFLOW_VERIFICATION_TTL', 3600, 60, 30 * 86400),
    sandbox,
    defaultProvider,
    maxImageBytes: integer(env, 'IDFLOW_VERIFICATION_MAX_IMAGE_BYTES', 5 * 1024 * 1024, 1024, 5 * 1024 * 1024),
    // 40 megapixels holds any phone camera's default photo; decoded, it is 120 MB of RGB.
    maxImagePixels: integer(env, 'IDFLOW_VERIFICATION_MAX_IMAGE_PIXELS', 40_000_000, 1_000_000, 100_000_000),
    // JPEG, what every image is stored as, cannot be wider or taller than 65,535.
    maxImageSide: integer(env, 'IDFLOW_VERIFICATION_MAX_IMAGE_SIDE', 10_000, 1_000, 65_000),
    // At least a day: Web KYC hands images over within 15 minutes after a verification ends.
    imageRetentionDays: integer(env, 'IDFLOW_VERIFICATION_IMAGE_RETENTION_DAYS', 30, 1, 3650),
    veriff,
  };
}

/** IDFLOW_WEBHOOK_ALLOWED_NETWORKS: names of special ranges, or CIDRs, deliveries may reach. */
function allowedNetworks(env: Env): string[] {
  const name = 'IDFLOW_WEBHOOK_ALLOWED_NETWORKS';
  const raw = env[name]?.trim();
  if (!raw) return [];
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (['loopback', 'private', 'linklocal'].includes(entry)) continue;
    if (!isAddressOrCidr(entry)) throw new ConfigError(name, `"${entry}" is not loopback, private, linklocal or a CIDR`);
  }
  return entries;
}

function webhookConfig(env: Env): WebhookConfig {
  return {
    worker: bool(env, 'IDFLOW_WEBHOOK_WORKER', true),
    timeoutMs: integer(env, 'IDFLOW_WEBHOOK_TIMEOUT_SECONDS', 15, 1, 60) * 1000,
    // Svix's five days: long enough to outlast a weekend outage.
    disableAfterMs: integer(env, 'IDFLOW_WEBHOOK_DISABLE_AFTER_SECONDS', 5 * 86400, 60, 365 * 86400) * 1000,
    pollMs: integer(env, 'IDFLOW_WEBHOOK_POLL_MS', 1000, 50, 60_000),
    concurrency: integer(env, 'IDFLOW_WEBHOOK_CONCURRENCY', 32, 1, 1000),
    concurrencyPerEndpoint: integer(env, 'IDFLOW_WEBHOOK_CONCURRENCY_PER_ENDPOINT', 4, 1, 1000),
    allowedNetworks: allowedNetworks(env),
  };
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 4000, 0, 65535);
  const issuer = url(env, 'IDFLOW_ISSUER', `http://localhost:${port}`, ['http:', 'https:'])!.replace(/\/+$/, '');
  const idflowEnv = oneOf(env, 'IDFLOW_ENV', 'development', ['development', 'production'] as const);
  const sealingKeys = env.IDFLOW_SEALING_KEYS || undefined;
  if (sealingKeys !== undefined) {
    if (!/^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]+(,\s*[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]+)*$/.test(sealingKeys)) {
      throw new ConfigError('IDFLOW_SEALING_KEYS', 'must be kid:base64key[,kid:base64key…] (generate one with `idflow keys sealing-key`)');
    }
    for (const part of sealingKeys.split(',')) {
      if (Buffer.from(part.split(':')[1]!, 'base64').length !== 32) {
        throw new ConfigError('IDFLOW_SEALING_KEYS', `key ${part.split(':')[0]} must decode to 32 bytes`);
      }
    }
  } else if (idflowEnv === 'production') {
    throw new ConfigError('IDFLOW_SEALING_KEYS', 'is required when IDFLOW_ENV=production');
  }
  if (idflowEnv === 'production' && !issuer.startsWith('https://')) {
    throw new ConfigError('IDFLOW_ISSUER', 'must be https:// when IDFLOW_ENV=production');
  }
  return {
    env: idflowEnv,
    port,
    host: env.HOST || '0.0.0.0',
    issuer,
    databaseUrl: url(env, 'DATABASE_URL', undefined, ['postgres:', 'postgresql:']),
    dataDir: resolve(env.IDFLOW_DATA_DIR || './data'),
    sealingKeys,
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    trustProxy: trustProxy(env),
    redisUrl: url(env, 'REDIS_URL', undefined, ['redis:', 'rediss:']),
    importFile: env.IDFLOW_IMPORT || undefined,
    password: {
      // OWASP's minimum for argon2id; raising these rehashes each password at its next sign-in.
      memoryKiB: integer(env, 'IDFLOW_ARGON2_MEMORY_KIB', 19456, 19456, 4 * 1024 * 1024),
      iterations: integer(env, 'IDFLOW_ARGON2_ITERATIONS', 2, 2, 100),
      parallelism: integer(env, 'IDFLOW_ARGON2_PARALLELISM', 1, 1, 16),
    },
    accessTokenTtl: integer(env, 'IDFLOW_ACCESS_TOKEN_TTL', 86400, 60, 7 * 86400),
    refreshTokenTtl: integer(env, 'IDFLOW_REFRESH_TOKEN_TTL', 30 * 86400, 300, 365 * 86400),
    // docs/limits.md says why: the owner signing in from elsewhere is never blocked by
    // someone guessing from one address; only a spread-out attack meets the account's ceiling.
    signInThrottle: {
      accountIpFailures: integer(env, 'IDFLOW_SIGNIN_ACCOUNT_IP_FAILURES', 5, 1, 1000),
      accountFailures: integer(env, 'IDFLOW_SIGNIN_ACCOUNT_FAILURES', 100, 1, 100000),
      ipFailures: integer(env, 'IDFLOW_SIGNIN_IP_FAILURES', 50, 1, 100000),
      windowSeconds: integer(env, 'IDFLOW_SIGNIN_WINDOW_SECONDS', 900, 1, 86400),
    },
    verificationStarts: {
      perIpPerHour: integer(env, 'IDFLOW_VERIFICATION_STARTS_PER_IP_PER_HOUR', 10, 1, 100000),
      perClientPerHour: integer(env, 'IDFLOW_VERIFICATION_STARTS_PER_CLIENT_PER_HOUR', 500, 1, 10_000_000),
    },
    sms: smsConfig(env, idflowEnv),
    verification: verificationConfig(env, idflowEnv),
    oneClick: {
      // 30 minutes, as in Verified's v2.0 documentation; at least the 5-minute life of a code.
      ttlSeconds: integer(env, 'IDFLOW_ONE_CLICK_TTL_SECONDS', 1800, 300, 86400),
    },
    webhooks: webhookConfig(env),
    audit: { checkpointEverySeconds: integer(env, 'IDFLOW_AUDIT_CHECKPOINT_SECONDS', 3600, 0, 7 * 86400) },
  };
}
