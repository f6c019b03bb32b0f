import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { PASSWORD } from './fixtures.ts';

/**
 * A browser without JavaScript, driving the hosted login and consent pages through the app
 * in process: it keeps cookies, follows redirects that stay on the issuer, submits the pages'
 * forms, and records every Location it was sent to. `headers` go with every request, so a
 * test can play a client behind a proxy (or an attacker) that writes Host or X-Forwarded-*.
 */
export class FormBrowser {
  readonly #app: FastifyInstance;
  readonly #issuer: string;
  readonly #headers: Record<string, string>;
  readonly #cookies = new Map<string, string>();
  /** Every Location header received, in order. */
  readonly locations: string[] = [];

  constructor(app: FastifyInstance, issuer: string, headers: Record<string, string> = {}) {
    this.#app = app;
    this.#issuer = issuer;
    this.#headers = headers;
  }

  async request(method: 'GET' | 'POST', url: string, form?: Record<string, string>) {
    const target = new URL(url, this.#issuer);
    assert.equal(target.origin, new URL(this.#issuer).origin, `the browser was sent away from the issuer, to ${url}`);
    const response = await this.#app.inject({
      method,
      url: `${target.pathname}${target.search}`,
      headers: {
        ...this.#headers,
        cookie: [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
    });
    const setCookies = response.headers['set-cookie'];
    for (const line of Array.isArray(setCookies) ? setCookies : setCookies ? [setCookies] : []) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (value && !/expires=Thu, 01 Jan 1970/i.test(line)) this.#cookies.set(name, value);
      else this.#cookies.delete(name);
    }
    const location = response.headers.location;
    if (typeof location === 'string') this.locations.push(location);
    return response;
  }

  /**
   * The authorization code flow as a person does it: from the authorization request, sign
   * in, allow, until the authorization server sends the browser to `redirectUri`; returns
   * that URL (a form_post answer's fields become its query).
   */
  async signIn(authorizationUrl: string, redirectUri: string, username = 'ada@example.com'): Promise<URL> {
    let response = await this.request('GET', authorizationUrl);
    for (let step = 0; step < 10; step++) {
      const location = response.headers.location;
      if (typeof location === 'string') {
        if (location.startsWith(redirectUri)) return new URL(location);
        response = await this.request('GET', location);
        continue;
      }
      assert.equal(response.statusCode, 200, `unexpected answer ${response.statusCode}: ${response.body.slice(0, 300)}`);
      const action = /<form method="post" action="([^"]+)"/.exec(response.body)?.[1];
      if (action?.startsWith(redirectUri)) {
        // response_mode=form_post: the page posts the answer to the application (its one
        // script runs only if the page's policy names it); keep the answer as a URL.
        assert.match(String(response.headers['content-security-policy']), /script-src [^;]*'sha256-/);
        const answer = new URL(action);
        for (const [, name, value] of response.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) answer.searchParams.set(name!, value!);
        return answer;
      }
      const csrf = /name="csrf" value="([^"]+)"/.exec(response.body)?.[1];
      assert.ok(action && csrf, `a hosted page with a form expected, got: ${response.body.slice(0, 300)}`);
      const form: Record<string, string> = action.endsWith('/login') ? { csrf, username, password: PASSWORD } : { csrf };
      response = await this.request('POST', action, form);
    }
    assert.fail('the authorization server never sent the browser back to the application');
  }
}
