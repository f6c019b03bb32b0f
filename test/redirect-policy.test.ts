import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redirectUriProblem, registeredRedirect, registeredSite, webUrlProblem, type RedirectCheck } from '../src/redirects/redirect-policy.ts';

/**
 * The one redirect policy, tested once: every door (OAuth redirect and post-logout URIs,
 * 1-Click's redirectUrl, Web KYC's redirect_uri and back_url) asks it. The doors' own tests
 * check how each answers a refusal.
 */
const REGISTERED = [
  'https://shop.example/cb',
  'https://shop.example/after?from=idflow',
  'https://bücher.example/cb',
  'https://xn--caf-dma.example/cb',
  'http://127.0.0.1:8080/cb',
  'com.shop.app:/cb',
];
const DEV = { allowInsecureLoopback: true };
const PROD = { allowInsecureLoopback: false };
const ok = (url: string): RedirectCheck => ({ ok: true, url });
const notRegistered: RedirectCheck = { ok: false, refused: 'not_registered' };
const notSecure: RedirectCheck = { ok: false, refused: 'not_secure' };

describe('Redirect policy: a URL a request names', () => {
  const cases: [string, string, RedirectCheck][] = [
    // Exact match, query string included (RFC 9700 §2.1).
    ['the registered URL', 'https://shop.example/cb', ok('https://shop.example/cb')],
    ['with its registered query', 'https://shop.example/after?from=idflow', ok('https://shop.example/after?from=idflow')],
    ['another query value', 'https://shop.example/after?from=evil', notRegistered],
    ['an extra parameter', 'https://shop.example/cb?next=https://evil.example', notRegistered],
    ['the query left out', 'https://shop.example/after', notRegistered],
    ['the query reordered', 'https://shop.example/after?from=idflow&x=1', notRegistered],
    ['a trailing slash', 'https://shop.example/cb/', notRegistered],
    ['another path', 'https://shop.example/cb2', notRegistered],
    ['path case', 'https://shop.example/CB', notRegistered],
    ['a subdomain', 'https://www.shop.example/cb', notRegistered],
    ['a look-alike host', 'https://shop.example.evil.example/cb', notRegistered],
    ['a trailing dot on the host', 'https://shop.example./cb', notRegistered],
    ['another port', 'https://shop.example:8443/cb', notRegistered],
    // Only the scheme and host may be written differently; the person goes to the registered URL.
    ['scheme and host in capitals', 'HTTPS://Shop.EXAMPLE/cb', ok('https://shop.example/cb')],
    ['the default port written out', 'https://shop.example:443/after?from=idflow', ok('https://shop.example/after?from=idflow')],
    ['a host in punycode for a Unicode one', 'https://xn--bcher-kva.example/cb', ok('https://bücher.example/cb')],
    ['a host in Unicode for a punycode one', 'https://café.example/cb', ok('https://xn--caf-dma.example/cb')],
    ['a homograph (Cyrillic о)', 'https://sh\u043ep.example/cb', notRegistered],
    // Fragments and userinfo (RFC 6749 §3.1.2).
    ['a fragment', 'https://shop.example/cb#x', notRegistered],
    ['an empty fragment', 'https://shop.example/cb#', notRegistered],
    ['userinfo naming the host', 'https://shop.example@evil.example/cb', notRegistered],
    ['userinfo before the host', 'https://user:pass@shop.example/cb', notRegistered],
    // Tricks that some parser reads differently from another.
    ['scheme-relative', '//evil.example/cb', notRegistered],
    ['scheme-relative to the host', '//shop.example/cb', notRegistered],
    ['a relative path', '/cb', notRegistered],
    ['no slashes after the scheme', 'https:shop.example/cb', notRegistered],
    ['a backslash for a slash', 'https://shop.example\\cb', notRegistered],
    ['a backslash before the host', 'https:\\\\shop.example/cb', notRegistered],
    ['a backslash then userinfo', 'https://shop.example\\@evil.example/cb', notRegistered],
    ['dot segments', 'https://shop.example/x/../cb', notRegistered],
    ['encoded dot segments', 'https://shop.example/x/%2e%2e/cb', notRegistered],
    ['encoded dot segments in capitals', 'https://shop.example/x/%2E%2E/cb', notRegistered],
    ['a percent-encoded host', 'https://shop%2Eexample/cb', notRegistered],
    ['an encoded slash', 'https://shop.example%2Fcb', notRegistered],
    ['a tab the parser drops', 'https://shop.example/c\tb', notRegistered],
    ['a newline the parser drops', 'https://shop.example/cb\n', notRegistered],
    ['leading spaces', ' https://shop.example/cb', notRegistered],
    ['javascript:', 'javascript:alert(1)//https://shop.example/cb', notRegistered],
    ['data:', 'data:text/html,<script>alert(1)</script>', notRegistered],
    ['not a URL', 'not a url', notRegistered],
    ['empty', '', notRegistered],
    // A native app's private-use scheme matches as written.
    ['a private-use scheme', 'com.shop.app:/cb', ok('com.shop.app:/cb')],
    ['a private-use scheme, another path', 'com.shop.app:/cb/../x', notRegistered],
    // Loopback http: a match, a destination only while developing.
    ['loopback http', 'http://127.0.0.1:8080/cb', ok('http://127.0.0.1:8080/cb')],
    ['loopback http on another port', 'http://127.0.0.1:9090/cb', notRegistered],
    ['loopback by another name', 'http://localhost:8080/cb', notRegistered],
    ['http to a registered https host', 'http://shop.example/cb', notRegistered],
  ];
  for (const [name, value, expected] of cases) {
    it(`${name}: ${JSON.stringify(value)}`, () => assert.deepEqual(registeredRedirect(value, REGISTERED, DEV), expected));
  }

  it('sends nowhere over plain http in production, even to a URL registered while developing', () => {
    assert.deepEqual(registeredRedirect('http://127.0.0.1:8080/cb', REGISTERED, PROD), notSecure);
    assert.deepEqual(registeredRedirect('https://shop.example/cb', REGISTERED, PROD), ok('https://shop.example/cb'));
    assert.deepEqual(registeredRedirect('http://shop.example/cb', ['http://shop.example/cb'], DEV), notSecure);
  });

  it('sends a native app on loopback to any port (RFC 8252 §7.3), only when asked to', () => {
    const native = { ...DEV, anyLoopbackPort: true };
    assert.deepEqual(registeredRedirect('http://127.0.0.1:9090/cb', REGISTERED, native), ok('http://127.0.0.1:8080/cb'));
    assert.deepEqual(registeredRedirect('http://127.0.0.1/cb', REGISTERED, native), ok('http://127.0.0.1:8080/cb'));
    assert.deepEqual(registeredRedirect('http://127.0.0.1:9090/other', REGISTERED, native), notRegistered);
    assert.deepEqual(registeredRedirect('https://shop.example:8443/cb', REGISTERED, native), notRegistered);
  });

  it('keeps a door that ends in a browser page to web addresses', () => {
    assert.deepEqual(registeredRedirect('com.shop.app:/cb', REGISTERED, { ...DEV, webOnly: true }), notSecure);
  });

  it('never takes a registered URL that carries credentials or a fragment', () => {
    assert.deepEqual(registeredRedirect('https://a@shop.example/cb', ['https://a@shop.example/cb'], DEV), notSecure);
    assert.deepEqual(registeredRedirect('https://shop.example/cb#x', ['https://shop.example/cb#x'], DEV), notSecure);
  });
});

describe('Redirect policy: a link back to the client site', () => {
  const cases: [string, RedirectCheck][] = [
    ['https://shop.example/account?tab=orders', ok('https://shop.example/account?tab=orders')],
    ['https://shop.example', ok('https://shop.example')],
    ['HTTPS://SHOP.example:443/', ok('HTTPS://SHOP.example:443/')],
    ['https://evil.example/', notRegistered],
    ['https://evil.example/https://shop.example/', notRegistered],
    ['https://www.shop.example/', notRegistered],
    ['https://shop.example:8443/', notRegistered],
    ['https://shop.example.evil.example/', notRegistered],
    ['http://shop.example/', notSecure],
    ['https://shop.example@evil.example/', notSecure],
    ['https://shop.example\\@evil.example/', notSecure],
    ['https://shop.example/x/%2e%2e/account', notSecure],
    ['https://shop.example/#top', notSecure],
    ['//shop.example/', notSecure],
    ['javascript:alert(1)', notSecure],
    ['com.shop.app:/cb', notSecure],
  ];
  for (const [value, expected] of cases) {
    it(JSON.stringify(value), () => assert.deepEqual(registeredSite(value, REGISTERED, DEV), expected));
  }
  it('takes loopback http only while developing', () => {
    assert.deepEqual(registeredSite('http://127.0.0.1:8080/basket', REGISTERED, DEV), ok('http://127.0.0.1:8080/basket'));
    assert.deepEqual(registeredSite('http://127.0.0.1:8080/basket', REGISTERED, PROD), notSecure);
  });
});

describe('Redirect policy: a URL a client registers', () => {
  const cases: [string, string | undefined, string | undefined][] = [
    // [uri, as a redirect URI in development, in production]
    ['https://shop.example/cb?from=idflow', undefined, undefined],
    ['http://localhost:3000/cb', undefined, 'http://localhost is allowed only in development'],
    ['http://[::1]/cb', undefined, 'http://localhost is allowed only in development'],
    ['http://shop.example/cb', 'must use https', 'must use https'],
    ['com.shop.app:/cb', undefined, undefined],
    ['myapp:/cb', 'must be https, loopback http, or a reverse-DNS app scheme', 'must be https, loopback http, or a reverse-DNS app scheme'],
    ['javascript:alert(1)', 'must be https, loopback http, or a reverse-DNS app scheme', 'must be https, loopback http, or a reverse-DNS app scheme'],
    ['https://shop.example/cb#x', 'must not have a fragment', 'must not have a fragment'],
    ['https://shop.example/cb#', 'must not have a fragment', 'must not have a fragment'],
    ['https://shop.example@evil.example/', 'must be an absolute URL without credentials or fragment', 'must be an absolute URL without credentials or fragment'],
    ['/cb', 'must be an absolute URI', 'must be an absolute URI'],
  ];
  for (const [uri, development, production] of cases) {
    it(JSON.stringify(uri), () => {
      assert.equal(redirectUriProblem(uri, DEV), development);
      assert.equal(redirectUriProblem(uri, PROD), production);
    });
  }
  it('takes only web addresses where an app scheme makes no sense (jwks_uri)', () => {
    assert.equal(webUrlProblem('com.shop.app:/cb', DEV), 'must use https');
    assert.equal(webUrlProblem('https://shop.example/jwks', PROD), undefined);
  });
});
