import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/index.ts';
import { loadKeyring } from '../src/config/keyring.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KEY = () => randomBytes(32).toString('base64');

/** Asserts loading `env` fails and the error names `variable` (and does not echo `secret`). */
function failsOn(env: Record<string, string>, variable: string, secret?: string): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}, got ${String(caught)}`);
  assert.equal(caught.variable, variable);
  assert.ok(caught.message.startsWith(`${variable}: `), caught.message);
  if (secret) assert.ok(!caught.message.includes(secret), 'the message must not repeat key material');
  return caught;
}

describe('loadConfig', () => {
  it('has working defaults for a first start', () => {
    const config = loadConfig({});
    assert.equal(config.env, 'development');
    assert.equal(config.port, 4000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.issuer, 'http://localhost:4000');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.dataDir, resolve('./data'));
    assert.equal(config.sealingKeys, undefined);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.trustProxy, false);
    assert.deepEqual(config.password, { memoryKiB: 19456, iterations: 2, parallelism: 1 });
    assert.equal(config.accessTokenTtl, 86400);
    assert.equal(config.refreshTokenTtl, 30 * 86400);
    assert.deepEqual(config.signInThrottle, { accountIpFailures: 5, accountFailures: 100, ipFailures: 50, windowSeconds: 900 });
    assert.deepEqual(config.verificationStarts, { perIpPerHour: 10, perClientPerHour: 500 });
    assert.equal(config.redisUrl, undefined);
  });

  it('reads every value it is given', () => {
    const keys = `k1:${KEY()},k0:${KEY()}`;
    const config = loadConfig({
      PORT: '8443',
      HOST: '127.0.0.1',
      IDFLOW_ISSUER: 'https://id.example.com/',
      IDFLOW_ENV: 'production',
      DATABASE_URL: 'postgresql://idflow@db.internal:5432/idflow',
      IDFLOW_DATA_DIR: '/var/lib/idflow',
      IDFLOW_SEALING_KEYS: keys,
      LOG_LEVEL: 'warn',
      IDFLOW_TRUST_PROXY: '10.0.0.0/8,192.0.2.7',
      REDIS_URL: 'rediss://cache.internal:6380',
      IDFLOW_IMPORT: '/etc/idflow/import.json',
      IDFLOW_ARGON2_MEMORY_KIB: '65536',
      IDFLOW_ARGON2_ITERATIONS: '3',
      IDFLOW_ARGON2_PARALLELISM: '2',
      IDFLOW_ACCESS_TOKEN_TTL: '600',
      IDFLOW_REFRESH_TOKEN_TTL: '3600',
      IDFLOW_SIGNIN_ACCOUNT_IP_FAILURES: '4',
      IDFLOW_SIGNIN_ACCOUNT_FAILURES: '30',
      IDFLOW_SIGNIN_IP_FAILURES: '20',
      IDFLOW_SIGNIN_WINDOW_SECONDS: '60',
      IDFLOW_VERIFICATION_STARTS_PER_IP_PER_HOUR: '2',
      IDFLOW_VERIFICATION_STARTS_PER_CLIENT_PER_HOUR: '50',
    });
    assert.equal(config.port, 8443);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.issuer, 'https://id.example.com', 'the trailing slash goes');
    assert.equal(config.env, 'production');
    assert.equal(config.databaseUrl, 'postgresql://idflow@db.internal:5432/idflow');
    assert.equal(config.dataDir, '/var/lib/idflow');
    assert.equal(config.sealingKeys, keys);
    assert.equal(config.logLevel, 'warn');
    assert.deepEqual(config.trustProxy, ['10.0.0.0/8', '192.0.2.7']);
    assert.equal(config.redisUrl, 'rediss://cache.internal:6380');
    assert.equal(config.importFile, '/etc/idflow/import.json');
    assert.deepEqual(config.password, { memoryKiB: 65536, iterations: 3, parallelism: 2 });
    assert.equal(config.accessTokenTtl, 600);
    assert.equal(config.refreshTokenTtl, 3600);
    assert.deepEqual(config.signInThrottle, { accountIpFailures: 4, accountFailures: 30, ipFailures: 20, windowSeconds: 60 });
    assert.deepEqual(config.verificationStarts, { perIpPerHour: 2, perClientPerHour: 50 });
  });

  it('derives the default issuer from PORT, and allows PORT=0', () => {
    assert.equal(loadConfig({ PORT: '5000' }).issuer, 'http://localhost:5000');
    assert.equal(loadConfig({ PORT: '0' }).port, 0);
    assert.equal(loadConfig({ PORT: '' }).port, 4000, 'an empty variable counts as unset');
  });

  it('names the variable of every bad value', () => {
    failsOn({ PORT: 'abc' }, 'PORT');
    failsOn({ PORT: '4000.5' }, 'PORT');
    failsOn({ PORT: '-1' }, 'PORT');
    failsOn({ PORT: '65536' }, 'PORT');
    failsOn({ IDFLOW_ISSUER: 'notaurl' }, 'IDFLOW_ISSUER');
    failsOn({ IDFLOW_ISSUER: 'ftp://id.example.com' }, 'IDFLOW_ISSUER');
    failsOn({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL');
    failsOn({ DATABASE_URL: 'localhost:5432' }, 'DATABASE_URL');
    failsOn({ IDFLOW_ENV: 'staging' }, 'IDFLOW_ENV');
    failsOn({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
    failsOn({ IDFLOW_TRUST_PROXY: 'maybe' }, 'IDFLOW_TRUST_PROXY');
    failsOn({ IDFLOW_ARGON2_MEMORY_KIB: '4096' }, 'IDFLOW_ARGON2_MEMORY_KIB');
    failsOn({ IDFLOW_ARGON2_ITERATIONS: '1' }, 'IDFLOW_ARGON2_ITERATIONS');
    failsOn({ IDFLOW_ARGON2_PARALLELISM: '0' }, 'IDFLOW_ARGON2_PARALLELISM');
    failsOn({ IDFLOW_ACCESS_TOKEN_TTL: '10' }, 'IDFLOW_ACCESS_TOKEN_TTL');
    failsOn({ IDFLOW_REFRESH_TOKEN_TTL: 'forever' }, 'IDFLOW_REFRESH_TOKEN_TTL');
    failsOn({ IDFLOW_SIGNIN_ACCOUNT_FAILURES: '0' }, 'IDFLOW_SIGNIN_ACCOUNT_FAILURES');
    failsOn({ IDFLOW_SIGNIN_IP_FAILURES: 'x' }, 'IDFLOW_SIGNIN_IP_FAILURES');
    failsOn({ IDFLOW_SIGNIN_WINDOW_SECONDS: '86401' }, 'IDFLOW_SIGNIN_WINDOW_SECONDS');
    failsOn({ IDFLOW_SIGNIN_ACCOUNT_IP_FAILURES: '0' }, 'IDFLOW_SIGNIN_ACCOUNT_IP_FAILURES');
    failsOn({ IDFLOW_VERIFICATION_STARTS_PER_IP_PER_HOUR: '0' }, 'IDFLOW_VERIFICATION_STARTS_PER_IP_PER_HOUR');
    failsOn({ IDFLOW_VERIFICATION_STARTS_PER_CLIENT_PER_HOUR: 'many' }, 'IDFLOW_VERIFICATION_STARTS_PER_CLIENT_PER_HOUR');
    failsOn({ REDIS_URL: 'cache:6379' }, 'REDIS_URL');
  });

  it('reads the image limits and the image retention, within bounds', () => {
    const defaults = loadConfig({}).verification;
    assert.deepEqual([defaults.maxImageBytes, defaults.maxImagePixels, defaults.maxImageSide, defaults.imageRetentionDays], [5 * 1024 * 1024, 40_000_000, 10_000, 30]);
    const set = loadConfig({
      IDFLOW_VERIFICATION_MAX_IMAGE_PIXELS: '24000000',
      IDFLOW_VERIFICATION_MAX_IMAGE_SIDE: '6000',
      IDFLOW_VERIFICATION_IMAGE_RETENTION_DAYS: '7',
    }).verification;
    assert.deepEqual([set.maxImagePixels, set.maxImageSide, set.imageRetentionDays], [24_000_000, 6000, 7]);
    failsOn({ IDFLOW_VERIFICATION_MAX_IMAGE_PIXELS: '999999' }, 'IDFLOW_VERIFICATION_MAX_IMAGE_PIXELS');
    failsOn({ IDFLOW_VERIFICATION_MAX_IMAGE_PIXELS: '100000001' }, 'IDFLOW_VERIFICATION_MAX_IMAGE_PIXELS');
    failsOn({ IDFLOW_VERIFICATION_MAX_IMAGE_SIDE: '65536' }, 'IDFLOW_VERIFICATION_MAX_IMAGE_SIDE');
    failsOn({ IDFLOW_VERIFICATION_IMAGE_RETENTION_DAYS: '0' }, 'IDFLOW_VERIFICATION_IMAGE_RETENTION_DAYS');
    failsOn({ IDFLOW_VERIFICATION_IMAGE_RETENTION_DAYS: 'forever' }, 'IDFLOW_VERIFICATION_IMAGE_RETENTION_DAYS');
  });

  it('refuses sealing keys in a bad format or of the wrong length, without repeating them', () => {
    const good = KEY();
    failsOn({ IDFLOW_SEALING_KEYS: 'nocolon' }, 'IDFLOW_SEALING_KEYS');
    failsOn({ IDFLOW_SEALING_KEYS: good }, 'IDFLOW_SEALING_KEYS', good);
    failsOn({ IDFLOW_SEALING_KEYS: `bad id!:${good}` }, 'IDFLOW_SEALING_KEYS', good);
    failsOn({ IDFLOW_SEALING_KEYS: `k1:${good};k2:${good}` }, 'IDFLOW_SEALING_KEYS', good);
    const short = randomBytes(16).toString('base64');
    const error = failsOn({ IDFLOW_SEALING_KEYS: `k1:${short}` }, 'IDFLOW_SEALING_KEYS', short);
    assert.match(error.message, /k1 must decode to 32 bytes/);
    const long = randomBytes(48).toString('base64');
    failsOn({ IDFLOW_SEALING_KEYS: `k1:${good},k2:${long}` }, 'IDFLOW_SEALING_KEYS', long);
    assert.equal(loadConfig({ IDFLOW_SEALING_KEYS: `k1:${good}, k2:${KEY()}` }).sealingKeys?.startsWith('k1:'), true);
  });

  it('in production, requires sealing keys and an https issuer', () => {
    const keys = `k1:${KEY()}`;
    failsOn({ IDFLOW_ENV: 'production', IDFLOW_ISSUER: 'https://id.example.com' }, 'IDFLOW_SEALING_KEYS');
    failsOn({ IDFLOW_ENV: 'production', IDFLOW_SEALING_KEYS: keys, IDFLOW_ISSUER: 'http://id.example.com' }, 'IDFLOW_ISSUER');
    failsOn({ IDFLOW_ENV: 'production', IDFLOW_SEALING_KEYS: keys }, 'IDFLOW_ISSUER');
    const config = loadConfig({ IDFLOW_ENV: 'production', IDFLOW_SEALING_KEYS: keys, IDFLOW_ISSUER: 'https://id.example.com' });
    assert.equal(config.env, 'production');
  });
});

describe('loadKeyring', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'idflow-keyring-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('uses IDFLOW_SEALING_KEYS when set, active key first', async () => {
    const config = loadConfig({ IDFLOW_SEALING_KEYS: `new:${KEY()},old:${KEY()}`, IDFLOW_DATA_DIR: dir });
    const { keyring, generatedAt } = await loadKeyring(config);
    assert.equal(keyring.active.id, 'new');
    assert.equal(generatedAt, undefined);
  });

  it('in development, makes a key once in the data folder, readable by this user only, and reuses it', async () => {
    const config = loadConfig({ IDFLOW_DATA_DIR: join(dir, 'dev') });
    const first = await loadKeyring(config);
    assert.equal(first.generatedAt, join(dir, 'dev', 'sealing-keys'));
    assert.equal((await stat(first.generatedAt!)).mode & 0o777, 0o600);
    const second = await loadKeyring(config);
    assert.equal(second.generatedAt, undefined);
    assert.equal(second.keyring.open(first.keyring.seal('kept', 'c'), 'c'), 'kept');
    assert.match(await readFile(first.generatedAt!, 'utf8'), /^dev1:[A-Za-z0-9+/=]+\n$/);
  });
});

describe('the idflow command with a bad configuration', () => {
  // A clean environment, so nothing from the caller's shell (DATABASE_URL…) leaks in.
  const run = (env: Record<string, string>, args = ['migrate']) =>
    spawnSync(process.execPath, [join(ROOT, 'bin/idflow.mjs'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('exits non-zero and names the variable on stderr', () => {
    const result = run({ PORT: 'abc' });
    assert.notEqual(result.status, 0);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /configuration error: PORT: must be a whole number, got "abc"/);
    assert.equal(result.stdout, '');
    assert.ok(!/\n\s+at /.test(result.stderr), 'no stack trace');
  });

  it('names IDFLOW_SEALING_KEYS when production has none', () => {
    const result = run({ IDFLOW_ENV: 'production', IDFLOW_ISSUER: 'https://id.example.com' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /IDFLOW_SEALING_KEYS: is required when IDFLOW_ENV=production/);
  });
});
