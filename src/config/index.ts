import { resolve } from 'node:path';

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
  trustProxy: boolean;
  importFile: string | undefined;
  password: { memoryKiB: number; iterations: number; parallelism: number };
  accessTokenTtl: number;
  refreshTokenTtl: number;
  signInThrottle: {
    accountFailures: number;
    ipFailures: number;
    windowSeconds: number;
  };
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
    trustProxy: bool(env, 'IDFLOW_TRUST_PROXY', false),
    importFile: env.IDFLOW_IMPORT || undefined,
    password: {
      // OWASP's minimum for argon2id; raising these rehashes each password at its next sign-in.
      memoryKiB: integer(env, 'IDFLOW_ARGON2_MEMORY_KIB', 19456, 19456, 4 * 1024 * 1024),
      iterations: integer(env, 'IDFLOW_ARGON2_ITERATIONS', 2, 2, 100),
      parallelism: integer(env, 'IDFLOW_ARGON2_PARALLELISM', 1, 1, 16),
    },
    accessTokenTtl: integer(env, 'IDFLOW_ACCESS_TOKEN_TTL', 86400, 60, 7 * 86400),
    refreshTokenTtl: integer(env, 'IDFLOW_REFRESH_TOKEN_TTL', 30 * 86400, 300, 365 * 86400),
    signInThrottle: {
      accountFailures: integer(env, 'IDFLOW_SIGNIN_ACCOUNT_FAILURES', 5, 1, 1000),
      ipFailures: integer(env, 'IDFLOW_SIGNIN_IP_FAILURES', 50, 1, 100000),
      windowSeconds: integer(env, 'IDFLOW_SIGNIN_WINDOW_SECONDS', 900, 1, 86400),
    },
  };
}
