import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { backends, POSTGRES_URL, startPlatform, type TestPlatform } from './support/platform.ts';
import { PASSWORD, passwordClient, user } from './support/fixtures.ts';
import { basic, postForm, postJson } from './support/http.ts';

/**
 * What an attacker holding only a database dump can do after people used every OAuth door:
 * nothing. Every value of the dump, every string inside JSON and every token-like substring
 * is presented where a token, a code or a refresh token is accepted, and each is refused.
 */

const CALLBACK = 'https://rp.example/callback';
const SIGNED_IN = 'ada@example.com';
const HINT_ONLY = 'hinted.person@example.com';

/** A browser without a screen: cookies kept, redirects followed by hand within the platform. */
class Browser {
  readonly cookies = new Map<string, string>();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) } });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    return response;
  }

  /** Follows redirects until a page is shown (its HTML) or the browser leaves for the client. */
  async go(url: string, init: RequestInit = {}): Promise<{ page: string; url: string } | { left: URL }> {
    let response = await this.fetch(url, init);
    let at = url;
    while (response.status >= 300 && response.status < 400) {
      at = new URL(response.headers.get('location')!, at).href;
      if (!at.startsWith(new URL(url).origin)) return { left: new URL(at) };
      response = await this.fetch(at);
    }
    assert.equal(response.status, 200, `${at} answered ${response.status}`);
    return { page: await response.text(), url: at };
  }

  async submit(page: { page: string; url: string }, action: 'login' | 'consent', fields: Record<string, string> = {}) {
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.page)![1]!;
    const uid = /\/interaction\/([^/?#]+)/.exec(page.url)![1]!;
    return this.go(new URL(`/interaction/${uid}/${action}`, page.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, ...fields }).toString(),
    });
  }
}

function shown(step: Awaited<ReturnType<Browser['go']>>): { page: string; url: string } {
  assert.ok('page' in step, `expected a page, the browser left for ${'left' in step ? step.left.href : ''}`);
  return step;
}

/** Every table of the platform's schema, every row, every column, as text. */
async function everyColumn(platform: TestPlatform): Promise<string[]> {
  const db = platform.services.db;
  const tables = await db.query<{ table_name: string }>(
    "select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'",
  );
  const texts: string[] = [];
  for (const { table_name: table } of tables) {
    const columns = await db.query<{ column_name: string }>(
      'select column_name from information_schema.columns where table_schema = current_schema() and table_name = $1',
      [table],
    );
    const select = columns.map((c) => `"${c.column_name}"::text as "${c.column_name}"`).join(', ');
    for (const row of await db.query<Record<string, string | null>>(`select ${select} from "${table}"`)) {
      texts.push(...Object.values(row).filter((v): v is string => v !== null));
    }
  }
  return texts;
}

/** `pg_dump` of the platform's schema, when the tool is installed. */
async function pgDump(platform: TestPlatform): Promise<string | undefined> {
  const [{ schema }] = (await platform.services.db.query<{ schema: string }>('select current_schema() as schema')) as [{ schema: string }];
  try {
    const { stdout } = await promisify(execFile)('pg_dump', ['--dbname', POSTGRES_URL, '--schema', schema], { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Whole values, the strings inside JSON values, and every base64url-looking run of 16+ characters. */
function candidates(texts: string[]): Set<string> {
  const found = new Set<string>();
  const leaves = (value: unknown): void => {
    if (typeof value === 'string') found.add(value);
    else if (Array.isArray(value)) value.forEach(leaves);
    else if (value && typeof value === 'object') Object.entries(value).forEach(([k, v]) => (found.add(k), leaves(v)));
  };
  for (const text of texts) {
    if (text.length <= 4096) found.add(text);
    try {
      leaves(JSON.parse(text));
    } catch {
      // not JSON
    }
    for (const [run] of text.matchAll(/[A-Za-z0-9_-]{16,}/g)) found.add(run);
  }
  return new Set([...found].filter((s) => s.length >= 8 && s.length <= 4096 && !s.includes('\0')));
}

for (const backend of await backends()) {
  describe(`OAuth artefacts in a database dump (${backend})`, () => {
    let platform: TestPlatform;
    let webSecret: string;
    let rsAuth: { authorization: string };
    let web: oidc.Configuration;

    before(async () => {
      platform = await startPlatform(backend, { listen: true });
      await user(platform, SIGNED_IN);
      await passwordClient(platform, { scope: 'openid email accounts:read' });
      webSecret = (await platform.services.clients.save({
        clientId: 'web-app',
        name: 'Web App',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [CALLBACK],
        scope: 'openid email',
      })).secret!;
      const rs = await platform.services.clients.save({ clientId: 'resource-server', name: 'RS', grantTypes: ['client_credentials'], scope: 'openid', introspect: true });
      rsAuth = { authorization: basic('resource-server', rs.secret!) };
      await platform.services.oauth.reloadIfChanged();
      web = await oidc.discovery(new URL(platform.url), 'web-app', { id_token_signed_response_alg: 'ES256' }, oidc.ClientSecretBasic(webSecret), {
        execute: [oidc.allowInsecureRequests],
      });
    });
    after(() => platform?.close());

    /** Each way a dumped value could be presented; the ones that did not refuse it. */
    async function accepted(value: string): Promise<string[]> {
      const answers = {
        'refresh at /oauth/token (confidential client)': await postForm(platform, '/oauth/token', { grant_type: 'refresh_token', refresh_token: value }, { authorization: basic('web-app', webSecret) }),
        'refresh at /oauth/token (public client)': await postForm(platform, '/oauth/token', { grant_type: 'refresh_token', refresh_token: value, client_id: 'vault-app' }),
        'code at /oauth/token': await postForm(platform, '/oauth/token', { grant_type: 'authorization_code', code: value, redirect_uri: CALLBACK }, { authorization: basic('web-app', webSecret) }),
        'refresh at /reg/auth/token': await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: value }),
      };
      const userinfo = await platform.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${value}` } });
      const introspection = await postForm(platform, '/oauth/introspect', { token: value }, rsAuth);
      const refused = (status: number) => status >= 400 && status < 500;
      const problems = Object.entries(answers).filter(([, a]) => !refused(a.status)).map(([door, a]) => `${door}: ${a.status}`);
      if (!refused(userinfo.statusCode)) problems.push(`userinfo: ${userinfo.statusCode}`);
      if (introspection.status !== 200 || introspection.body.active !== false) problems.push(`introspection: ${JSON.stringify(introspection.body)}`);
      return problems;
    }

    it('holds nothing a replay could use, and no email in clear, after every kind of OAuth use', async () => {
      // A password sign-in and a refresh through Vault's door.
      const vault = await postJson(platform, '/reg/auth/token', { grant_type: 'password', client_id: 'vault-app', username: SIGNED_IN, password: PASSWORD, scope: 'openid email' });
      assert.equal(vault.status, 200);
      const vaultRefreshed = await postJson(platform, '/reg/auth/token', { grant_type: 'refresh_token', refresh_token: vault.body.refresh_token });
      assert.equal(vaultRefreshed.status, 200);

      // An authorization code flow with login_hint, through the hosted pages, then a refresh.
      const browser = new Browser();
      const verifier = oidc.randomPKCECodeVerifier();
      const checks = { pkceCodeVerifier: verifier, expectedState: oidc.randomState(), expectedNonce: oidc.randomNonce() };
      const authorize = oidc.buildAuthorizationUrl(web, {
        redirect_uri: CALLBACK,
        scope: 'openid email',
        state: checks.expectedState,
        nonce: checks.expectedNonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        login_hint: SIGNED_IN,
      });
      const login = shown(await browser.go(authorize.href));
      const consent = shown(await browser.submit(login, 'login', { username: SIGNED_IN, password: PASSWORD }));
      const back = await browser.submit(consent, 'consent');
      assert.ok('left' in back && back.left.href.startsWith(CALLBACK), 'the browser is back at the client with a code');
      const code = back.left.searchParams.get('code')!;
      const codeTokens = await oidc.authorizationCodeGrant(web, back.left, checks);
      const refreshed = await oidc.refreshTokenGrant(web, codeTokens.refresh_token!);

      // An interaction left unfinished, its login_hint an address known nowhere else.
      const unfinished = new Browser();
      const hinted = shown(await unfinished.go(oidc.buildAuthorizationUrl(web, { redirect_uri: CALLBACK, scope: 'openid', login_hint: HINT_ONLY, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).href));
      assert.match(hinted.page, new RegExp(HINT_ONLY.replace(/\./g, '\\.')), 'the login page offers the hinted address');

      // The tokens in hand work, so a dump that held them would let them be replayed.
      const live = await platform.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${refreshed.access_token}` } });
      assert.equal(live.statusCode, 200);

      const texts = await everyColumn(platform);
      const dump = backend === 'postgres' ? await pgDump(platform) : undefined;
      if (dump) texts.push(dump);

      const everything = texts.join('\n').toLowerCase();
      for (const email of [SIGNED_IN, HINT_ONLY]) assert.ok(!everything.includes(email), `${email} is in the dump in clear`);
      const issued = {
        'Vault access token': vault.body.access_token,
        'Vault refresh token (used)': vault.body.refresh_token,
        'Vault refresh token': vaultRefreshed.body.refresh_token,
        'authorization code': code,
        'code-flow refresh token (used)': codeTokens.refresh_token,
        'access token': refreshed.access_token,
        'refresh token': refreshed.refresh_token,
        ...Object.fromEntries([...browser.cookies, ...unfinished.cookies].map(([name, value]) => [`cookie ${name}`, value])),
      };
      for (const [what, value] of Object.entries(issued)) {
        assert.ok(value && value.length >= 16, `${what} was issued`);
        assert.ok(!everything.includes(value!.toLowerCase()), `the ${what} is in the dump`);
      }

      const values = candidates(texts);
      assert.ok(values.size > 50, `the dump gave ${values.size} values to try`);
      for (const value of values) {
        const problems = await accepted(value);
        assert.deepEqual(problems, [], `a value from the dump was accepted: ${value.slice(0, 80)}`);
      }

      // Nothing in the dump even touched the live grants (reuse detection would have revoked them).
      const still = await platform.app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${refreshed.access_token}` } });
      assert.equal(still.statusCode, 200);
    });
  });
}
