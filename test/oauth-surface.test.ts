import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { ClientService } from '../src/clients/client-service.ts';
import { isAppError, type AppError } from '../src/kernel/errors.ts';
import { saveWebKycSettings } from '../src/kyc/web-kyc-settings.ts';
import { applyImport } from '../src/provisioning/import-file.ts';
import { user } from './support/fixtures.ts';
import { FormBrowser } from './support/form-browser.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

/**
 * What the discovery document promises, held to by clients written by others: every URL
 * built from the issuer whatever Host a caller sends, pushed authorization requests
 * (RFC 9126) and private_key_jwt (RFC 7523) through oauth4webapi and openid-client, and the
 * answers RFC 6749 and RFC 7662 prescribe.
 */

const REDIRECT_URI = 'https://rp.example/cb';
/** What an attacker (or a proxy that passes them through) writes. */
const FORGED = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-port': '443' };
const insecure = { [oauth.allowInsecureRequests]: true } as const;

interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signingKey(alg: 'ES256' | 'Ed25519', kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A client's own JWKS endpoint, on the loopback interface. */
async function serveJwks(keys: JWK[]): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isAppError(error), `an AppError expected, got ${String(error)}`);
    assert.equal(error.code, 'validation_failed');
    return error;
  }
  assert.fail('expected the client to be refused');
}

for (const backend of await backends()) {
  describe(`What discovery advertises (${backend})`, () => {
    let platform: TestPlatform;
    let issuer: string;
    let as: oauth.AuthorizationServer;
    let webSecret: string;
    let inlineKey: KeyPair;
    let remoteKey: KeyPair;
    let jwksServer: Awaited<ReturnType<typeof serveJwks>>;

    before(async () => {
      // Behind a proxy, as in production: the engine is told to trust X-Forwarded-* from it.
      platform = await startPlatform(backend, { listen: true, env: { IDFLOW_TRUST_PROXY: 'loopback' } });
      issuer = platform.url;
      await user(platform, 'ada@example.com');
      inlineKey = await signingKey('ES256', 'inline-1');
      remoteKey = await signingKey('Ed25519', 'remote-1');
      jwksServer = await serveJwks([remoteKey.publicJwk]);
      webSecret = 'a-web-app-secret-of-at-least-32-characters';
      // Both ways an operator registers clients from a file: keys inline, or where the client publishes them.
      await applyImport(platform.services, {
        clients: [
          { client_id: 'web-app', name: 'Web App', redirect_uris: [REDIRECT_URI], post_logout_redirect_uris: ['https://rp.example/bye'], scope: 'openid email', client_secret: webSecret },
          {
            client_id: 'signed-web',
            name: 'Signed Web',
            redirect_uris: [REDIRECT_URI],
            grant_types: ['authorization_code', 'refresh_token'],
            scope: 'openid email',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [inlineKey.publicJwk] },
          },
          {
            client_id: 'signed-service',
            name: 'Signed Service',
            grant_types: ['client_credentials'],
            scope: 'inventory:read',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks_uri: jwksServer.url,
          },
        ],
      });
      as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), insecure));
    });
    after(async () => {
      await jwksServer?.close();
      await platform?.close();
    });

    describe('URLs come from the issuer, never from the request', () => {
      it('publishes discovery with issuer-based endpoints whatever Host and X-Forwarded-* say', async () => {
        for (const headers of [{ host: 'evil.example' }, FORGED]) {
          const response = await platform.app.inject({ url: '/.well-known/openid-configuration', headers });
          assert.equal(response.statusCode, 200);
          const document = response.json() as Record<string, unknown>;
          const urls = Object.entries(document).filter(([name]) => name.endsWith('_endpoint') || name.endsWith('_uri'));
          assert.ok(urls.length >= 8, 'the document lists its endpoints');
          for (const [name, value] of urls) assert.ok(String(value).startsWith(`${issuer}/`), `${name} is ${value}`);
          assert.ok(!response.body.includes('evil.example'));
        }
      });

      it('answers a request whose target names another host (absolute form) with the issuer\'s URLs', async () => {
        const { port } = new URL(issuer);
        const answer = await new Promise<string>((resolve, reject) => {
          const socket = connect(Number(port), '127.0.0.1', () =>
            socket.write('GET http://evil.example/.well-known/openid-configuration HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n'),
          );
          let text = '';
          socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          socket.on('end', () => resolve(text));
          socket.on('error', reject);
        });
        assert.match(answer, /^HTTP\/1\.1 200 /);
        const document = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
        assert.equal(document.token_endpoint, `${issuer}/oauth/token`);
        assert.ok(!answer.includes('evil.example'));
      });

      it('marks its cookies Secure exactly when the issuer is https, whatever X-Forwarded-Proto says', async () => {
        const authorize = `/oauth/authorize?${new URLSearchParams({ client_id: 'web-app', redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`;
        const cookiesOf = (response: { headers: Record<string, unknown> }) => [response.headers['set-cookie']].flat().map(String);

        const plain = cookiesOf(await platform.app.inject({ url: authorize, headers: FORGED }));
        assert.ok(plain.length > 0 && plain.every((c) => !/;\s*secure/i.test(c)), `an http issuer's cookies: ${plain.join(' | ')}`);

        const tls = await startPlatform(backend, { env: { IDFLOW_ISSUER: 'https://id.example', IDFLOW_TRUST_PROXY: 'loopback' } });
        try {
          await tls.services.clients.save({ clientId: 'web-app', name: 'Web App', redirectUris: [REDIRECT_URI], scope: 'openid' });
          await tls.services.oauth.reloadIfChanged();
          // The proxy ended TLS; the hop to idflow is plain http, and says so.
          const secure = cookiesOf(await tls.app.inject({ url: authorize, headers: { 'x-forwarded-proto': 'http' } }));
          assert.ok(secure.length > 0 && secure.every((c) => /;\s*secure/i.test(c)), `an https issuer's cookies: ${secure.join(' | ')}`);
        } finally {
          await tls.close();
        }
      });

      it('posts the logout form to the issuer', async () => {
        const response = await platform.app.inject({ url: '/oauth/logout', headers: FORGED });
        assert.equal(response.statusCode, 200);
        const action = /<form[^>]*action="([^"]+)"/.exec(response.body)?.[1];
        assert.equal(action, `${issuer}/oauth/logout/confirm`);
        assert.ok(!response.body.includes('evil.example'));
      });

      it('brings the person back to the issuer after the hosted pages, and the code still redeems', async () => {
        const browser = new FormBrowser(platform.app, issuer, FORGED);
        const client: oauth.Client = { client_id: 'web-app' };
        const verifier = oauth.generateRandomCodeVerifier();
        const state = oauth.generateRandomState();
        const url = new URL(as.authorization_endpoint!);
        for (const [name, value] of Object.entries({
          client_id: 'web-app',
          redirect_uri: REDIRECT_URI,
          response_type: 'code',
          scope: 'openid email',
          state,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        })) url.searchParams.set(name, value);
        const callback = await browser.signIn(url.href, REDIRECT_URI);
        for (const location of browser.locations) {
          assert.ok(location.startsWith('/') || location.startsWith(`${issuer}/`) || location.startsWith(REDIRECT_URI), `sent to ${location}`);
        }
        assert.equal(callback.searchParams.get('iss'), issuer);
        const params = oauth.validateAuthResponse(as, client, callback, state);
        const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(webSecret), params, REDIRECT_URI, verifier, insecure);
        const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { requireIdToken: true });
        assert.equal(oauth.getValidatedIdTokenClaims(tokens)?.iss, issuer);
      });
      it('links to its own pages relatively or under the issuer on the other surfaces (1-Click Hosted, Web KYC)', async () => {
        await platform.services.clients.save({ clientId: 'hosted-brand', name: 'Hosted', oneClick: { integration: 'hosted', environment: 'sandbox', defaultRedirectUrl: REDIRECT_URI } });
        const { key } = await platform.services.apiKeys.create('hosted-brand');
        const started = await platform.app.inject({ method: 'POST', url: '/1-click', headers: { ...FORGED, authorization: key, 'content-type': 'application/json' }, payload: { phone: '+12025550100' } });
        assert.equal(started.statusCode, 201, started.body);
        assert.ok(String(started.json().url).startsWith(`${issuer}/1-click/wallet/`), started.json().url);

        await saveWebKycSettings(platform.services.repos.clients, 'web-app', { enabled: true, provider: 'sandbox' });
        const query = new URLSearchParams({ client_id: 'web-app', redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'kyc', state: 'xyz' });
        const kyc = await platform.app.inject({ url: `/authorize?${query}`, headers: FORGED });
        assert.equal(kyc.statusCode, 303, kyc.body);
        assert.match(kyc.headers.location!, /^\/web-kyc\/flows\//);
        assert.ok(!kyc.body.includes('evil.example'));
      });
    });

    describe('pushed authorization requests (RFC 9126)', () => {
      it('advertises the endpoint under /oauth/ and takes a request there through to tokens (oauth4webapi, private_key_jwt)', async () => {
        assert.equal(as.pushed_authorization_request_endpoint, `${issuer}/oauth/par`);
        const client: oauth.Client = { client_id: 'signed-web' };
        const auth = oauth.PrivateKeyJwt({ key: inlineKey.privateKey, kid: 'inline-1' });
        const verifier = oauth.generateRandomCodeVerifier();
        const state = oauth.generateRandomState();
        const nonce = oauth.generateRandomNonce();
        const pushed = await oauth.pushedAuthorizationRequest(
          as,
          client,
          auth,
          {
            redirect_uri: REDIRECT_URI,
            response_type: 'code',
            scope: 'openid email',
            state,
            nonce,
            code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
            code_challenge_method: 'S256',
          },
          insecure,
        );
        const { request_uri: requestUri, expires_in: expiresIn } = await oauth.processPushedAuthorizationResponse(as, client, pushed);
        assert.match(requestUri, /^urn:ietf:params:oauth:request_uri:/);
        assert.ok(expiresIn > 0);

        const url = new URL(as.authorization_endpoint!);
        url.searchParams.set('client_id', 'signed-web');
        url.searchParams.set('request_uri', requestUri);
        const callback = await new FormBrowser(platform.app, issuer).signIn(url.href, REDIRECT_URI);
        const params = oauth.validateAuthResponse(as, client, callback, state);
        const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT_URI, verifier, insecure);
        const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true });
        assert.equal(oauth.getValidatedIdTokenClaims(tokens)?.aud, 'signed-web');
        assert.ok(tokens.refresh_token);

        // A request_uri is single use.
        const again = await platform.app.inject({ url: `${url.pathname}${url.search}` });
        assert.equal(again.statusCode, 303);
        assert.equal(new URL(again.headers.location!).searchParams.get('error'), 'invalid_request_uri');
      });

      it('refuses a pushed request from a client that does not authenticate', async () => {
        const response = await fetch(`${issuer}/oauth/par`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: 'signed-web', redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid' }),
        });
        assert.equal(response.status, 401);
        assert.equal(((await response.json()) as { error: string }).error, 'invalid_client');
      });
    });

    describe('private_key_jwt (RFC 7523)', () => {
      const discover = (clientId: string, key: KeyPair) =>
        oidc.discovery(new URL(issuer), clientId, {}, oidc.PrivateKeyJwt({ key: key.privateKey, kid: key.publicJwk.kid }), { execute: [oidc.allowInsecureRequests] });

      it('issues client-credentials tokens to a client whose keys are at its jwks_uri, and introspects them (openid-client)', async () => {
        const service = await discover('signed-service', remoteKey);
        const tokens = await oidc.clientCredentialsGrant(service, { scope: 'inventory:read' });
        assert.equal(tokens.scope, 'inventory:read');
        const info = await oidc.tokenIntrospection(service, tokens.access_token);
        assert.equal(info.active, true);
        assert.equal(info.client_id, 'signed-service');
        await oidc.tokenRevocation(service, tokens.access_token);
        assert.equal((await oidc.tokenIntrospection(service, tokens.access_token)).active, false);
      });

      it('binds a token to the client\'s DPoP key, checking the proof against the issuer\'s URL (oauth4webapi)', async () => {
        const client: oauth.Client = { client_id: 'signed-service' };
        const auth = oauth.PrivateKeyJwt({ key: remoteKey.privateKey, kid: 'remote-1' });
        const dpopKeys = await generateKeyPair('ES256', { extractable: true });
        const DPoP = oauth.DPoP(client, dpopKeys);
        // Sent with a forged Host: the proof names the URL the client called, which is the issuer's.
        const response = await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'inventory:read' }, { ...insecure, DPoP, headers: { 'x-forwarded-host': 'evil.example' } });
        const tokens = await oauth.processClientCredentialsResponse(as, client, response);
        assert.equal(tokens.token_type, 'dpop');
        const introspection = await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure);
        const info = await oauth.processIntrospectionResponse(as, client, introspection);
        assert.equal(info.active, true);
        assert.equal((info.cnf as { jkt?: string } | undefined)?.jkt, await calculateJwkThumbprint(await exportJWK(dpopKeys.publicKey)));
      });

      it('refuses an assertion signed with a key the client did not register', async () => {
        const impostor = await discover('signed-service', await signingKey('Ed25519', 'remote-1'));
        const error = await oidc.clientCredentialsGrant(impostor, { scope: 'inventory:read' }).then(
          () => assert.fail('a foreign key must not authenticate'),
          (e: unknown) => e as oidc.ResponseBodyError,
        );
        assert.equal(error.error, 'invalid_client');
      });

      it('refuses a secret from a client registered for private_key_jwt', async () => {
        const withSecret = await oidc.discovery(new URL(issuer), 'signed-service', {}, oidc.ClientSecretPost('x'.repeat(43)), { execute: [oidc.allowInsecureRequests] });
        const error = await oidc.clientCredentialsGrant(withSecret, { scope: 'inventory:read' }).then(
          () => assert.fail('a secret must not authenticate'),
          (e: unknown) => e as oidc.ResponseBodyError,
        );
        assert.equal(error.error, 'invalid_client');
      });

      it('registers public keys only, from the import file or the service, and jwks_uri over https in production', async () => {
        const { privateKey } = await generateKeyPair('ES256', { extractable: true });
        const privateJwk = await exportJWK(privateKey);
        const base = { client_id: 'leaky', name: 'Leaky', grant_types: ['client_credentials'], scope: 'inventory:read', token_endpoint_auth_method: 'private_key_jwt' };
        const leaked = await refusal(applyImport(platform.services, { clients: [{ ...base, jwks: { keys: [privateJwk] } }] }));
        assert.match(leaked.publicMessage, /clients\[0\]\.jwks\.keys\.0: holds private key material/);
        await refusal(applyImport(platform.services, { clients: [{ ...base, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }] }));
        await refusal(applyImport(platform.services, { clients: [{ ...base, jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'nope', y: 'nope' }] } }] }));
        await refusal(applyImport(platform.services, { clients: [{ ...base, jwks: { keys: [] } }] }));
        await refusal(applyImport(platform.services, { clients: [base] }));
        await refusal(applyImport(platform.services, { clients: [{ ...base, jwks: { keys: [inlineKey.publicJwk] }, jwks_uri: jwksServer.url }] }));
        await refusal(applyImport(platform.services, { clients: [{ ...base, jwks_uri: 'http://keys.example/jwks.json' }] }));
        await refusal(applyImport(platform.services, { clients: [{ ...base, token_endpoint_auth_method: 'client_secret_jwt' }] }));
        await refusal(applyImport(platform.services, { clients: [{ ...base, token_endpoint_auth_method: 'client_secret_basic', jwks: { keys: [inlineKey.publicJwk] } }] }));
        await refusal(applyImport(platform.services, { clients: [{ ...base, client_secret: 'y'.repeat(40) , jwks: { keys: [inlineKey.publicJwk] } }] }));
        assert.equal(await platform.services.clients.find('leaky'), undefined, 'nothing of a refused client is written');

        const production = new ClientService(platform.services.repos.clients, { allowInsecureLoopback: false });
        const input = { clientId: 'prod', name: 'Prod', grantTypes: ['client_credentials'], scope: 'inventory:read', tokenEndpointAuthMethod: 'private_key_jwt' };
        const loopback = await refusal(production.save({ ...input, jwksUri: jwksServer.url }));
        assert.deepEqual(loopback.fields.map((f) => f.field), ['/jwks_uri']);
        const saved = await production.save({ ...input, jwksUri: 'https://keys.example/jwks.json' });
        assert.equal(saved.secret, undefined, 'a private_key_jwt client gets no secret');
        assert.equal(saved.client.metadata.jwks_uri, 'https://keys.example/jwks.json');
        assert.equal(saved.client.secretHash, undefined);
      });

      it('lets a client move between methods, keeping no keys or secret from before', async () => {
        const clients = platform.services.clients;
        const input = { clientId: 'mover', name: 'Mover', grantTypes: ['client_credentials'], scope: 'inventory:read' };
        const grant = async (auth: oidc.ClientAuth) =>
          oidc.clientCredentialsGrant(await oidc.discovery(new URL(issuer), 'mover', {}, auth, { execute: [oidc.allowInsecureRequests] }), { scope: 'inventory:read' });
        const refused = async (auth: oidc.ClientAuth) => assert.equal(((await grant(auth).catch((e: unknown) => e)) as oidc.ResponseBodyError).error, 'invalid_client');

        await clients.save({ ...input, tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [inlineKey.publicJwk] } });
        const post = await clients.save({ ...input, tokenEndpointAuthMethod: 'client_secret_post' });
        assert.equal(post.client.metadata.token_endpoint_auth_method, 'client_secret_post');
        assert.equal(post.client.metadata.jwks, undefined);
        assert.ok(post.secret, 'a client that now authenticates with a secret is given one');
        assert.equal((await grant(oidc.ClientSecretPost(post.secret))).scope, 'inventory:read');
        await refused(oidc.PrivateKeyJwt({ key: inlineKey.privateKey, kid: 'inline-1' }));

        const signed = await clients.save({ ...input, tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [inlineKey.publicJwk] } });
        assert.equal(signed.client.secretHash, undefined, 'the old secret is gone from the database');
        assert.equal((await grant(oidc.PrivateKeyJwt({ key: inlineKey.privateKey, kid: 'inline-1' }))).scope, 'inventory:read');
        await refused(oidc.ClientSecretPost(post.secret));
      });
    });

    describe('answers as the RFCs say', () => {
      it('introspects an ID token as {"active": false} (RFC 7662)', async () => {
        const web = await oidc.discovery(new URL(issuer), 'web-app', {}, oidc.ClientSecretBasic(webSecret), { execute: [oidc.allowInsecureRequests] });
        const browser = new FormBrowser(platform.app, issuer);
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const url = oidc.buildAuthorizationUrl(web, { redirect_uri: REDIRECT_URI, scope: 'openid email', state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
        const callback = await browser.signIn(url.href, REDIRECT_URI);
        const tokens = await oidc.authorizationCodeGrant(web, callback, { pkceCodeVerifier: verifier, expectedState: state });
        assert.ok(tokens.id_token);
        const info = await oidc.tokenIntrospection(web, tokens.id_token);
        assert.deepEqual(info, { active: false });
        // A client that does not authenticate learns nothing either way.
        const anonymous = await fetch(as.introspection_endpoint!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: tokens.id_token }) });
        assert.equal(anonymous.status, 400);
        assert.equal(((await anonymous.json()) as { error: string }).error, 'invalid_request');
      });

      it('answers a grant type the client may not use with unauthorized_client (RFC 6749 §5.2)', async () => {
        const web = await oidc.discovery(new URL(issuer), 'web-app', {}, oidc.ClientSecretBasic(webSecret), { execute: [oidc.allowInsecureRequests] });
        const error = await oidc.clientCredentialsGrant(web).then(
          () => assert.fail('web-app may not use client_credentials'),
          (e: unknown) => e as oidc.ResponseBodyError,
        );
        assert.equal(error.error, 'unauthorized_client');
        assert.equal(error.status, 400);
        const signed = await oidc.discovery(new URL(issuer), 'signed-service', {}, oidc.PrivateKeyJwt({ key: remoteKey.privateKey, kid: 'remote-1' }), { execute: [oidc.allowInsecureRequests] });
        const password = await oidc.genericGrantRequest(signed, 'password', { username: 'ada@example.com', password: 'whatever' }).then(
          () => assert.fail('signed-service may not use the password grant'),
          (e: unknown) => e as oidc.ResponseBodyError,
        );
        assert.equal(password.error, 'unauthorized_client');

        // The authorization code grant asked for at the PAR and authorization endpoints by a
        // client that did not register it (RFC 6749 §4.1.2.1).
        const pushed = await oauth.pushedAuthorizationRequest(
          as,
          { client_id: 'signed-service' },
          oauth.PrivateKeyJwt({ key: remoteKey.privateKey, kid: 'remote-1' }),
          { response_type: 'code', scope: 'inventory:read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' },
          insecure,
        );
        assert.equal(pushed.status, 400);
        assert.equal(((await pushed.json()) as { error: string }).error, 'unauthorized_client');
        const page = await platform.app.inject({ url: `/oauth/authorize?${new URLSearchParams({ client_id: 'signed-service', response_type: 'code', scope: 'inventory:read' })}` });
        assert.equal(page.statusCode, 400);
        assert.match(page.body, /<code>unauthorized_client<\/code>/);
      });
    });

    it('delivers the code in every response mode it lists (query, fragment, form_post)', async () => {
      assert.deepEqual([...(as.response_modes_supported ?? [])].sort(), ['form_post', 'fragment', 'query']);
      const client: oauth.Client = { client_id: 'web-app' };
      for (const mode of ['query', 'fragment', 'form_post']) {
        const verifier = oauth.generateRandomCodeVerifier();
        const state = oauth.generateRandomState();
        const url = new URL(as.authorization_endpoint!);
        for (const [name, value] of Object.entries({
          client_id: 'web-app',
          redirect_uri: REDIRECT_URI,
          response_type: 'code',
          response_mode: mode,
          scope: 'openid',
          state,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        })) url.searchParams.set(name, value);
        const landed = await new FormBrowser(platform.app, issuer).signIn(url.href, REDIRECT_URI);
        const answer = mode === 'fragment' ? new URLSearchParams(landed.hash.slice(1)) : landed.searchParams;
        assert.equal(mode === 'fragment' ? landed.search : landed.hash, '', `${mode}: the answer is where the mode puts it`);
        const params = oauth.validateAuthResponse(as, client, answer, state);
        const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(webSecret), params, REDIRECT_URI, verifier, insecure);
        assert.ok((await oauth.processAuthorizationCodeResponse(as, client, response)).access_token, `${mode}: the code redeems`);
      }
    });

    it('answers at every endpoint discovery lists', async () => {
      const document = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
      const endpoints = Object.entries(document).filter(([name]) => name.endsWith('_endpoint') || name === 'jwks_uri');
      assert.deepEqual(endpoints.map(([name]) => name).sort(), [
        'authorization_endpoint',
        'end_session_endpoint',
        'introspection_endpoint',
        'jwks_uri',
        'pushed_authorization_request_endpoint',
        'revocation_endpoint',
        'token_endpoint',
        'userinfo_endpoint',
      ]);
      // Each endpoint, called without credentials, answers in its own way, never "not found".
      const expected: Record<string, [method: string, status: number]> = {
        authorization_endpoint: ['GET', 400],
        end_session_endpoint: ['GET', 200],
        introspection_endpoint: ['POST', 400],
        jwks_uri: ['GET', 200],
        pushed_authorization_request_endpoint: ['POST', 400],
        revocation_endpoint: ['POST', 400],
        token_endpoint: ['POST', 400],
        userinfo_endpoint: ['GET', 401],
      };
      for (const [name, url] of endpoints) {
        const [method, status] = expected[name]!;
        const response = await fetch(url, { method, redirect: 'manual', ...(method === 'POST' ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' } : {}) });
        assert.equal(response.status, status, `${name} (${method} ${url}) answered ${response.status}`);
      }
    });
  });
}
