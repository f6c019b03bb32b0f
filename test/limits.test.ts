import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ConfigError, loadConfig } from '../src/config/index.ts';
import { ManualClock } from '../src/kernel/clock.ts';
import { saveWebKycSettings } from '../src/kyc/web-kyc-settings.ts';
import { purgeExpired } from '../src/maintenance.ts';
import { PASSWORD, passwordClient } from './support/fixtures.ts';
import { startFakeVeriff, type FakeVeriff } from './support/fake-veriff.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * The platform's limits as an attacker meets them: password guessing on the three sign-in
 * doors (racing, from one address, spread over names, behind a proxy, across nodes), and
 * verification starts that would open paid vendor sessions.
 */

const REDIS_URL = process.env.IDFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const WEB_CLIENT = { clientId: 'web-shop', secret: '', redirectUri: 'https://shop.example/callback' };

type Answer = { status: number; headers: LightMyRequestResponse['headers']; body: string };

const answer = (response: LightMyRequestResponse): Answer => ({ status: response.statusCode, headers: response.headers, body: response.body });

/** Vault's /reg/auth/token. */
async function viaVault(app: FastifyInstance, username: string, password: string, ip: string, headers: Record<string, string> = {}): Promise<Answer> {
  return answer(
    await app.inject({
      method: 'POST',
      url: '/reg/auth/token',
      remoteAddress: ip,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify({ grant_type: 'password', client_id: 'vault-app', username, password }),
    }),
  );
}

/** The OAuth password grant at /oauth/token. */
async function viaPasswordGrant(app: FastifyInstance, username: string, password: string, ip: string): Promise<Answer> {
  return answer(
    await app.inject({
      method: 'POST',
      url: '/oauth/token',
      remoteAddress: ip,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', client_id: 'vault-app', username, password }).toString(),
    }),
  );
}

const cookieHeader = (response: LightMyRequestResponse) => response.cookies.map((c) => `${c.name}=${c.value}`).join('; ');

/** The hosted login page of the authorization code flow: a fresh interaction, then its form. */
async function viaLoginPage(app: FastifyInstance, username: string, password: string, ip: string): Promise<Answer> {
  const query = new URLSearchParams({ client_id: WEB_CLIENT.clientId, redirect_uri: WEB_CLIENT.redirectUri, response_type: 'code', scope: 'openid', state: 's' });
  const authorize = await app.inject({ method: 'GET', url: `/oauth/authorize?${query}`, remoteAddress: ip });
  const interaction = authorize.headers.location as string;
  assert.match(interaction, /^\/interaction\/[A-Za-z0-9_-]+$/, `authorize redirects to the login page, got ${authorize.statusCode}`);
  const cookie = cookieHeader(authorize);
  const page = await app.inject({ method: 'GET', url: interaction, remoteAddress: ip, headers: { cookie } });
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(csrf, 'the login page has a form token');
  return answer(
    await app.inject({
      method: 'POST',
      url: `${interaction}/login`,
      remoteAddress: ip,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ csrf, username, password }).toString(),
    }),
  );
}

/** Signed in, as each door says it: a token, or the login page moving on to the next step. */
const signedIn = (a: Answer) => a.status === 200 || (a.status === 303 && !a.headers.location?.toString().includes('/interaction/'));

async function clients(platform: TestPlatform) {
  await passwordClient(platform);
  const { secret } = await platform.services.clients.save({
    clientId: WEB_CLIENT.clientId,
    name: 'Web shop',
    redirectUris: [WEB_CLIENT.redirectUri],
    grantTypes: ['authorization_code'],
    scope: 'openid',
  });
  WEB_CLIENT.secret = secret!;
  await platform.services.oauth.reloadIfChanged();
}

async function counters(platform: TestPlatform): Promise<number> {
  const [row] = await platform.services.db.query<{ n: number }>('select count(*)::int as n from limit_counters');
  return row!.n;
}

async function redisAnswers(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

describe('Trusted proxies in the configuration', () => {
  it('refuses true and a number of hops, saying what to set instead', () => {
    for (const value of ['true', 'yes', '1', '2']) {
      assert.throws(
        () => loadConfig({ IDFLOW_TRUST_PROXY: value }),
        (e: unknown) => e instanceof ConfigError && e.variable === 'IDFLOW_TRUST_PROXY' && /addresses or CIDRs of the proxies/.test(e.message),
      );
    }
    assert.throws(() => loadConfig({ IDFLOW_TRUST_PROXY: '10.0.0.0/33' }), (e: unknown) => e instanceof ConfigError && e.variable === 'IDFLOW_TRUST_PROXY');
    assert.throws(() => loadConfig({ IDFLOW_TRUST_PROXY: 'proxy.internal' }), (e: unknown) => e instanceof ConfigError && e.variable === 'IDFLOW_TRUST_PROXY');
  });

  it('takes addresses, CIDRs and the named private ranges', () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ IDFLOW_TRUST_PROXY: 'false' }).trustProxy, false);
    assert.deepEqual(loadConfig({ IDFLOW_TRUST_PROXY: '10.0.0.0/8, 192.0.2.7,2001:db8::/32,loopback' }).trustProxy, ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', 'loopback']);
  });

  it('takes REDIS_URL as a redis:// or rediss:// URL only', () => {
    assert.equal(loadConfig({ REDIS_URL: 'redis://cache:6379/0' }).redisUrl, 'redis://cache:6379/0');
    assert.throws(() => loadConfig({ REDIS_URL: 'http://cache:6379' }), (e: unknown) => e instanceof ConfigError && e.variable === 'REDIS_URL');
  });
});

for (const backend of await backends()) {
  describe(`Password guessing (${backend})`, () => {
    let platform: TestPlatform;

    before(async () => {
      platform = await startPlatform(backend);
      await clients(platform);
    });
    after(() => platform.close());

    it('takes a point before the hash: of 200 racing guesses against a limit of 5, five are checked and the right one at #100 is refused', async () => {
      await platform.services.users.create({ email: 'race@example.com', password: PASSWORD });
      const guesses = Array.from({ length: 200 }, (_, i) => (i === 99 ? PASSWORD : `guess ${i}`));
      const answers = await Promise.all(guesses.map((guess) => viaVault(platform.app, 'race@example.com', guess, '203.0.113.10')));
      const checked = answers.filter((a) => a.status !== 429);
      assert.equal(checked.length, 5, `statuses: ${JSON.stringify(answers.map((a) => a.status))}`);
      assert.ok(checked.every((a) => a.status === 401));
      assert.equal(answers[99]!.status, 429, 'the right password beyond the limit does not sign in');
      assert.ok(answers.every((a) => !signedIn(a)));
    });

    it('counts and settles racing sign-ins that share counters without a server error: right and wrong passwords, one and many addresses', async () => {
      await platform.services.users.create({ email: 'busy@example.com', password: PASSWORD });
      const attempts = Array.from({ length: 60 }, (_, i) => ({
        password: i % 3 === 0 ? PASSWORD : `guess ${i}`,
        ip: i % 2 === 0 ? '203.0.113.77' : `198.51.100.${100 + (i % 7)}`,
      }));
      const answers = await Promise.all(attempts.map((a) => viaVault(platform.app, 'busy@example.com', a.password, a.ip)));
      assert.ok(answers.every((a) => [200, 401, 429].includes(a.status)), `statuses: ${JSON.stringify(answers.map((a) => a.status))}`);
      assert.ok(answers.some((a) => a.status === 200), 'the owner gets in');
    });

    it('lets the owner sign in from another address while someone guesses from one, on all three doors', async () => {
      await platform.services.users.create({ email: 'victim@example.com', password: PASSWORD });
      const attacker = '198.51.100.66';
      const statuses = [];
      for (let i = 0; i < 8; i++) statuses.push((await viaVault(platform.app, 'victim@example.com', `guess ${i}`, attacker)).status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
      assert.equal((await viaPasswordGrant(platform.app, 'victim@example.com', PASSWORD, attacker)).status, 429, 'the attacker’s address stays blocked');

      const owner = '192.0.2.10';
      const page = await viaLoginPage(platform.app, 'victim@example.com', PASSWORD, owner);
      assert.ok(signedIn(page), `login page: ${page.status}`);
      const grant = await viaPasswordGrant(platform.app, 'victim@example.com', PASSWORD, owner);
      assert.equal(grant.status, 200, grant.body);
      const vault = await viaVault(platform.app, 'victim@example.com', PASSWORD, owner);
      assert.equal(vault.status, 200, vault.body);
    });

    it('answers 429 in each door’s own format, with Retry-After', async () => {
      await platform.services.users.create({ email: 'formats@example.com', password: PASSWORD });
      const ip = '198.51.100.70';
      for (let i = 0; i < 5; i++) await viaVault(platform.app, 'formats@example.com', `guess ${i}`, ip);
      const vault = await viaVault(platform.app, 'formats@example.com', PASSWORD, ip);
      assert.equal(JSON.parse(vault.body).status, 'TOO_MANY_REQUESTS');
      const grant = await viaPasswordGrant(platform.app, 'formats@example.com', PASSWORD, ip);
      assert.equal(JSON.parse(grant.body).error, 'too_many_requests');
      const page = await viaLoginPage(platform.app, 'formats@example.com', PASSWORD, ip);
      assert.equal(page.status, 429);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      for (const a of [vault, grant, page]) {
        assert.equal(a.status, 429);
        assert.ok(Number(a.headers['retry-after']) > 0 && Number(a.headers['retry-after']) <= 900, String(a.headers['retry-after']));
      }
    });

    it('counts an account once whichever of its names is typed', async () => {
      await platform.services.users.create({ email: 'both@example.com', phone: '+14155550123', password: PASSWORD });
      const ip = '198.51.100.80';
      for (const name of ['both@example.com', '+1 415 555 0123', 'BOTH@example.com', '+14155550123', 'both@example.com']) {
        assert.equal((await viaVault(platform.app, name, 'wrong', ip)).status, 401);
      }
      assert.equal((await viaVault(platform.app, '+14155550123', PASSWORD, ip)).status, 429, 'five guesses in all, not five per name');
    });

    it('limits guesses against a name that is no account exactly as against one that is', async () => {
      await platform.services.users.create({ email: 'known@example.com', password: PASSWORD });
      const seen = async (name: string, ip: string) => {
        const out = [];
        for (let i = 0; i < 7; i++) {
          const a = await viaVault(platform.app, name, `guess ${i}`, ip);
          const { traceId: _t, ...body } = JSON.parse(a.body) as Record<string, unknown>;
          out.push({ status: a.status, body, retryAfter: a.headers['retry-after'] !== undefined });
        }
        return out;
      };
      const known = await seen('known@example.com', '198.51.100.90');
      const unknown = await seen('ghost@example.com', '198.51.100.91');
      assert.deepEqual(unknown, known);
      assert.deepEqual(unknown.map((a) => a.status), [401, 401, 401, 401, 401, 429, 429]);
    });

    it('keeps no email, phone number or address in the counters', async () => {
      const rows = await platform.services.db.query<{ key: string }>('select key from limit_counters');
      assert.ok(rows.length > 0);
      for (const { key } of rows) assert.doesNotMatch(key, /@|example|\+1415|203\.0\.113|198\.51\.100|192\.0\.2/);
    });

    it('caps an account across addresses at its own ceiling', async () => {
      const node = await platform.anotherNode({ IDFLOW_SIGNIN_ACCOUNT_FAILURES: '12' });
      await node.services.users.create({ email: 'spread@example.com', password: PASSWORD });
      for (let i = 0; i < 12; i++) assert.equal((await viaVault(node.app, 'spread@example.com', 'wrong', `203.0.113.${100 + Math.floor(i / 4)}`)).status, 401);
      assert.equal((await viaVault(node.app, 'spread@example.com', PASSWORD, '192.0.2.99')).status, 429);
      await node.close();
    });
  });

  describe(`Client addresses behind a proxy (${backend})`, () => {
    let platform: TestPlatform;
    const proxy = '10.1.2.3';

    before(async () => {
      platform = await startPlatform(backend, { env: { IDFLOW_TRUST_PROXY: '10.0.0.0/8', IDFLOW_SIGNIN_IP_FAILURES: '10' } });
      await clients(platform);
    });
    after(() => platform.close());

    it('counts the address the trusted proxy saw, whatever a client writes before it in X-Forwarded-For', async () => {
      const statuses = [];
      for (let i = 0; i < 55; i++) {
        const forged = `${i}.${i}.${i}.${i}`;
        statuses.push((await viaVault(platform.app, `spray${i}@example.com`, 'password1', proxy, { 'x-forwarded-for': `${forged}, 198.51.100.7` })).status);
      }
      assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
      assert.deepEqual(statuses.slice(10), Array(45).fill(429));
      // Another client behind the same proxy is not that address.
      assert.equal((await viaVault(platform.app, 'spray0@example.com', 'password1', proxy, { 'x-forwarded-for': '198.51.100.8' })).status, 401);
    });

    it('ignores X-Forwarded-For from a client that connects directly', async () => {
      const statuses = [];
      for (let i = 0; i < 11; i++) {
        statuses.push((await viaVault(platform.app, `direct${i}@example.com`, 'password1', '203.0.113.50', { 'x-forwarded-for': `198.18.0.${i}` })).status);
      }
      assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
    });

    it('counts an IPv6 client by its /64', async () => {
      const statuses = [];
      for (let i = 0; i < 11; i++) {
        statuses.push((await viaVault(platform.app, `v6-${i}@example.com`, 'password1', proxy, { 'x-forwarded-for': `2001:db8:1:2::${(i + 1).toString(16)}` })).status);
      }
      assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
    });
  });

  describe(`Limits shared by nodes (${backend})`, () => {
    let platform: TestPlatform;

    before(async () => {
      platform = await startPlatform(backend);
      await clients(platform);
    });
    after(() => platform.close());

    it('shares one limit between two nodes, each with its own pool, and keeps it across a restart', async () => {
      const other = await platform.anotherNode();
      await platform.services.users.create({ email: 'nodes@example.com', password: PASSWORD });
      const ip = '203.0.113.20';
      for (const app of [platform.app, other.app, platform.app, other.app, platform.app]) {
        assert.equal((await viaVault(app, 'nodes@example.com', 'wrong', ip)).status, 401);
      }
      assert.equal((await viaVault(other.app, 'nodes@example.com', PASSWORD, ip)).status, 429);
      assert.equal((await viaPasswordGrant(platform.app, 'nodes@example.com', PASSWORD, ip)).status, 429);
      await other.close();
      const restarted = await platform.anotherNode();
      assert.equal((await viaVault(restarted.app, 'nodes@example.com', PASSWORD, ip)).status, 429, 'a restart forgets nothing');
      assert.ok((await counters(platform)) > 0, 'the counters are in the database');
    });
  });

  describe(`Limits on Redis (${backend})`, () => {
    let platform: TestPlatform | undefined;
    let reachable = false;

    before(async () => {
      reachable = await redisAnswers();
      if (reachable) {
        platform = await startPlatform(backend, { env: { REDIS_URL } });
        await clients(platform);
      }
    });
    after(() => platform?.close());

    it('shares one limit between two nodes through Redis, and writes no counter to the database', async (t) => {
      if (!reachable) return t.skip(`no Redis at ${REDIS_URL}`);
      const p = platform!;
      const other = await p.anotherNode();
      await p.services.users.create({ email: 'redis@example.com', password: PASSWORD });
      const ip = '203.0.113.30';
      for (const app of [p.app, other.app, p.app, other.app, other.app]) {
        assert.equal((await viaVault(app, 'redis@example.com', 'wrong', ip)).status, 401);
      }
      assert.equal((await viaVault(p.app, 'redis@example.com', PASSWORD, ip)).status, 429);
      assert.equal(await counters(p), 0);
      const redis = new Redis(REDIS_URL);
      try {
        const keys = await redis.keys('idflow:limit:signin_account_address:*');
        assert.ok(keys.length > 0);
        assert.ok(keys.every((k) => !k.includes('@') && !k.includes('203.0.113')));
      } finally {
        redis.disconnect();
      }
    });

    it('counts in the database while Redis does not answer', async () => {
      const down = await startPlatform(backend, { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
      try {
        await clients(down);
        await down.services.users.create({ email: 'fallback@example.com', password: PASSWORD });
        const other = await down.anotherNode();
        for (const app of [down.app, other.app, down.app, other.app, down.app]) {
          assert.equal((await viaVault(app, 'fallback@example.com', 'wrong', '203.0.113.40')).status, 401);
        }
        assert.equal((await viaVault(other.app, 'fallback@example.com', PASSWORD, '203.0.113.40')).status, 429);
        assert.ok((await counters(down)) > 0);
      } finally {
        await down.close();
      }
    });
  });
}

/** The operator's redirect, the introduction page, then Start; returns the answer to Start. */
async function startWebKyc(app: FastifyInstance, clientId: string, redirectUri: string, ip: string): Promise<LightMyRequestResponse> {
  const query = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'kyc', state: 'st-1' });
  const authorize = await app.inject({ method: 'GET', url: `/authorize?${query}`, remoteAddress: ip });
  const intro = authorize.headers.location as string;
  assert.match(intro, /^\/web-kyc\/flows\/[0-9a-f-]{36}$/, `authorize: ${authorize.statusCode} ${intro}`);
  const cookie = cookieHeader(authorize);
  const page = await app.inject({ method: 'GET', url: intro, remoteAddress: ip, headers: { cookie } });
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(csrf, 'the introduction has a form token');
  return app.inject({
    method: 'POST',
    url: `${intro}/start`,
    remoteAddress: ip,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ csrf }).toString(),
  });
}

/** Where an answer to Start sends the browser: a redirect, or the page that hands it over to the vendor. */
function sentTo(answer: LightMyRequestResponse): string {
  return String(answer.headers.location ?? /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(answer.body)?.[1]?.replaceAll('&amp;', '&'));
}

async function webKycClient(platform: TestPlatform, clientId: string, provider: string): Promise<string> {
  const redirectUri = `https://${clientId}.example/kyc`;
  await platform.services.clients.save({ clientId, name: clientId, redirectUris: [redirectUri], grantTypes: ['authorization_code'], scope: 'openid' });
  await saveWebKycSettings(platform.services.repos.clients, clientId, { enabled: true, provider });
  return redirectUri;
}

for (const backend of await backends()) {
  describe(`Verification starts (${backend})`, () => {
    let platform: TestPlatform;
    let fake: FakeVeriff;

    before(async () => {
      fake = await startFakeVeriff();
      platform = await startPlatform(backend, {
        env: {
          IDFLOW_VERIFF_API_KEY: fake.apiKey,
          IDFLOW_VERIFF_SHARED_SECRET: fake.sharedSecret,
          IDFLOW_VERIFF_BASE_URL: fake.baseUrl,
          IDFLOW_VERIFICATION_STARTS_PER_IP_PER_HOUR: '3',
          IDFLOW_VERIFICATION_STARTS_PER_CLIENT_PER_HOUR: '5',
        },
      });
    });
    after(async () => {
      await platform.close();
      await fake.close();
    });

    it('opens no vendor session beyond the limit per address or per client, and tells the operator temporarily_unavailable', async () => {
      const redirectUri = await webKycClient(platform, 'paid-shop', 'veriff');
      const sessionsBefore = fake.sessions.size;
      // One address, ten starts at once: three open a session.
      const racing = await Promise.all(Array.from({ length: 10 }, () => startWebKyc(platform.app, 'paid-shop', redirectUri, '203.0.113.60')));
      const opened = racing.filter((r) => sentTo(r).startsWith(fake.baseUrl));
      assert.equal(opened.length, 3, racing.map((r) => `${r.statusCode} ${sentTo(r)}`).join('\n'));
      for (const refused of racing.filter((r) => !opened.includes(r))) {
        assert.equal(refused.statusCode, 303);
        const back = new URL(String(refused.headers.location));
        assert.equal(`${back.origin}${back.pathname}`, redirectUri);
        assert.deepEqual([back.searchParams.get('error'), back.searchParams.get('error_description'), back.searchParams.get('state')], ['temporarily_unavailable', 'too_many_requests', 'st-1']);
      }
      assert.equal(fake.sessions.size - sessionsBefore, 3);

      // Other addresses: the client's five are used up at the fifth.
      for (const ip of ['203.0.113.61', '203.0.113.62']) assert.ok(sentTo(await startWebKyc(platform.app, 'paid-shop', redirectUri, ip)).startsWith(fake.baseUrl));
      const beyondClient = new URL(String((await startWebKyc(platform.app, 'paid-shop', redirectUri, '203.0.113.63')).headers.location));
      assert.equal(beyondClient.searchParams.get('error'), 'temporarily_unavailable');
      assert.equal(fake.sessions.size - sessionsBefore, 5);

      // Another client is counted on its own.
      const otherUri = await webKycClient(platform, 'other-shop', 'veriff');
      assert.ok(sentTo(await startWebKyc(platform.app, 'other-shop', otherUri, '203.0.113.64')).startsWith(fake.baseUrl));
      assert.equal(fake.sessions.size - sessionsBefore, 6);
    });
  });

  describe(`Web KYC flows nobody started (${backend})`, () => {
    let platform: TestPlatform;
    const clock = new ManualClock();

    before(async () => {
      platform = await startPlatform(backend, { clock });
    });
    after(() => platform.close());

    it('expire after ten minutes and are purged, while a started one lives on', async () => {
      const redirectUri = await webKycClient(platform, 'idle-shop', 'sandbox');
      const query = new URLSearchParams({ response_type: 'code', client_id: 'idle-shop', redirect_uri: redirectUri, scope: 'kyc', state: 'st-2' });
      const idle = await platform.app.inject({ method: 'GET', url: `/authorize?${query}`, remoteAddress: '203.0.113.70' });
      const idlePath = String(idle.headers.location);
      const idleId = idlePath.split('/').pop()!;
      const started = await startWebKyc(platform.app, 'idle-shop', redirectUri, '203.0.113.71');
      assert.equal(started.statusCode, 303);
      const startedIds = await platform.services.db.query<{ id: string }>("select id from flows where kind = 'web_kyc' and state = 'verifying'");
      assert.equal(startedIds.length, 1);

      clock.advance(9 * 60_000);
      await purgeExpired(platform.services);
      assert.equal((await platform.services.db.query('select 1 from flows where id = $1', [idleId])).length, 1, 'still there after nine minutes');

      clock.advance(60_000 + 1000);
      await purgeExpired(platform.services);
      assert.deepEqual(await platform.services.db.query('select 1 from flows where id = $1', [idleId]), [], 'purged');
      const page = await platform.app.inject({ method: 'GET', url: idlePath, remoteAddress: '203.0.113.70', headers: { cookie: cookieHeader(idle) } });
      assert.equal(page.statusCode, 404);
      assert.equal((await platform.services.db.query('select 1 from flows where id = $1', [startedIds[0]!.id])).length, 1, 'a started flow keeps its hour');
    });
  });
}
