import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { createLogger } from '../src/kernel/logger.ts';
import { DeliveryWorker } from '../src/notifications/webhooks/worker.ts';
import { user } from './support/fixtures.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

/**
 * The admin API as an operator's console uses it, over real HTTP: a client registered with
 * the admin scope takes a client-credentials token with oauth4webapi, then manages a
 * subscription end to end (a real receiver verifies every message), redelivers, and pages
 * through events and the audit log. No token, a token without the scope and bad input get
 * problem+json with stable codes; /openapi.json describes the door.
 */

const ADMIN_SCOPE = 'idflow:admin';
const SHOP = 'shop';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

for (const backend of await backends()) {
  describe(`Admin API (${backend})`, () => {
    let platform: TestPlatform;
    let receiver: WebhookReceiver;
    let worker: DeliveryWorker;
    let adminToken: string;
    let reportsToken: string;

    async function clientCredentialsToken(clientId: string, secret: string, scope: string): Promise<string> {
      const issuer = new URL(platform.url);
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
      const client = { client_id: clientId };
      const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(secret), { scope }, insecure);
      return (await oauth.processClientCredentialsResponse(as, client, response)).access_token;
    }

    async function admin(method: string, path: string, options: { body?: unknown; token?: string | null; rawBody?: string } = {}) {
      const token = options.token === undefined ? adminToken : options.token;
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${platform.url}/admin${path}`, { method, headers, body });
      const text = await response.text();
      return { status: response.status, type: response.headers.get('content-type') ?? '', headers: response.headers, json: (text ? JSON.parse(text) : undefined) as any };
    }

    /** Every page of a listing, following next_cursor; asserts each page holds at most `limit`. */
    async function allPages(path: string, name: string, limit: number): Promise<{ items: any[]; pages: number }> {
      const items: any[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const separator = path.includes('?') ? '&' : '?';
        const page = await admin('GET', `${path}${separator}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200, JSON.stringify(page.json));
        assert.ok(page.json[name].length <= limit);
        items.push(...page.json[name]);
        cursor = page.json.next_cursor;
        pages++;
      } while (cursor);
      return { items, pages };
    }

    function assertProblem(answer: { status: number; type: string; json: any }, status: number, code: string) {
      assert.equal(answer.status, status, JSON.stringify(answer.json));
      assert.match(answer.type, /^application\/problem\+json/);
      assert.equal(answer.json.code, code);
      assert.equal(answer.json.status, status);
    }

    before(async () => {
      platform = await startPlatform(backend, { listen: true, env: { IDFLOW_WEBHOOK_ALLOWED_NETWORKS: 'loopback', IDFLOW_WEBHOOK_TIMEOUT_SECONDS: '2' } });
      const { clients } = platform.services;
      // Registered as the CLI and the import file register any client: the scope is all it takes.
      const console = await clients.save({ clientId: 'console', name: 'Operator console', grantTypes: ['client_credentials'], scope: ADMIN_SCOPE });
      const reports = await clients.save({ clientId: 'reports', name: 'Reports', grantTypes: ['client_credentials'], scope: 'reports:read' });
      await clients.save({ clientId: SHOP, name: 'Shop', redirectUris: ['https://shop.example/cb'], grantTypes: ['authorization_code'], scope: 'openid' });
      await platform.services.oauth.reloadIfChanged();
      adminToken = await clientCredentialsToken('console', console.secret!, ADMIN_SCOPE);
      reportsToken = await clientCredentialsToken('reports', reports.secret!, 'reports:read');
      receiver = await startWebhookReceiver();
      worker = new DeliveryWorker({ db: platform.services.db, keyring: platform.keyring, clock: platform.clock, logger: createLogger('silent'), settings: platform.config.webhooks, random: () => 0 });
    });
    after(async () => {
      await receiver?.close();
      await platform?.close();
    });

    /** An event of the shop, as issuing an API key writes one (published as client.changed). */
    const shopEvent = () => platform.services.apiKeys.create(SHOP);

    it('refuses a caller without a token (401), with an unknown token (401) and with a token without the admin scope (403)', async () => {
      for (const path of ['/subscriptions', '/events', '/audit', '/deliveries']) {
        const anonymous = await admin('GET', path, { token: null });
        assertProblem(anonymous, 401, 'unauthenticated');
        assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer /);
        assertProblem(await admin('GET', path, { token: 'x'.repeat(43) }), 401, 'invalid_token');
        const narrow = await admin('GET', path, { token: reportsToken });
        assertProblem(narrow, 403, 'forbidden');
        assert.match(narrow.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="idflow:admin"/);
      }
      // Not before the caller is known is its input looked at: a bad body without a token is still a 401.
      assertProblem(await admin('POST', '/subscriptions', { token: null, rawBody: '{' }), 401, 'unauthenticated');
      assertProblem(await admin('GET', '/subscriptions', { token: null, body: undefined }), 401, 'unauthenticated');
      const basic = await fetch(`${platform.url}/admin/subscriptions`, { headers: { authorization: `Basic ${Buffer.from('console:x').toString('base64')}` } });
      assert.equal(basic.status, 401, 'client credentials themselves are no token');
    });

    it('stops honouring a token once its client loses the admin scope, or is deleted', async () => {
      const { clients } = platform.services;
      const temp = await clients.save({ clientId: 'temp-console', name: 'Temporary console', grantTypes: ['client_credentials'], scope: `${ADMIN_SCOPE} reports:read` });
      const token = await clientCredentialsToken('temp-console', temp.secret!, ADMIN_SCOPE);
      assert.equal((await admin('GET', '/subscriptions', { token })).status, 200);
      await clients.update('temp-console', { scope: 'reports:read' });
      assertProblem(await admin('GET', '/subscriptions', { token }), 403, 'forbidden');
      await clients.delete('temp-console');
      assertProblem(await admin('GET', '/subscriptions', { token }), 401, 'invalid_token');
    });

    it('manages a subscription end to end: create, deliver, inspect attempts, redeliver, change, rotate, disable, enable, delete', async () => {
      const created = await admin('POST', '/subscriptions', { body: { client_id: SHOP, url: receiver.url, event_types: ['client.changed'], description: 'Shop back office' } });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const { subscription, secret } = created.json;
      assert.match(secret, /^whsec_/);
      assert.equal(subscription.client_id, SHOP);
      assert.equal(subscription.enabled, true);
      assert.ok(!JSON.stringify((await admin('GET', `/subscriptions/${subscription.id}`)).json).includes(secret), 'the secret is shown once');
      receiver.secrets.push(secret);
      assertProblem(await admin('POST', '/subscriptions', { body: { client_id: SHOP, url: receiver.url, event_types: ['client.changed'] } }), 409, 'conflict');

      await shopEvent();
      await worker.runOnce();
      assert.equal(receiver.accepted.length, 1, 'the receiver verified and accepted the message');
      const deliveries = await admin('GET', `/deliveries?subscription_id=${subscription.id}`);
      assert.equal(deliveries.json.deliveries.length, 1);
      const [delivery] = deliveries.json.deliveries;
      assert.equal(delivery.state, 'delivered');
      assert.equal(delivery.message_id, receiver.accepted[0]!.id);
      const detail = await admin('GET', `/deliveries/${delivery.id}`);
      assert.equal(detail.json.attempts_made.length, 1);
      assert.ok(detail.json.attempts_made[0].status >= 200 && detail.json.attempts_made[0].status < 300);

      const redelivered = await admin('POST', `/deliveries/${delivery.id}/redeliver`);
      assert.equal(redelivered.status, 202);
      await worker.runOnce();
      assert.equal(receiver.accepted.length, 2);
      assert.equal(receiver.accepted[1]!.id, receiver.accepted[0]!.id, 'a redelivery carries the same webhook-id');
      assert.equal((await admin('GET', `/deliveries/${delivery.id}`)).json.attempts_made.length, 2);
      assertProblem(await admin('POST', '/deliveries/999999999/redeliver'), 404, 'not_found');

      const changed = await admin('PATCH', `/subscriptions/${subscription.id}`, { body: { event_types: ['client.changed', 'identity.shared'], description: '' } });
      assert.deepEqual(changed.json.event_types, ['client.changed', 'identity.shared']);
      assert.equal(changed.json.description, null);

      const rotated = await admin('POST', `/subscriptions/${subscription.id}/rotate-secret`, { body: { overlap_seconds: 60 } });
      assert.match(rotated.json.secret, /^whsec_/);
      assert.notEqual(rotated.json.secret, secret);
      assert.ok(Date.parse(rotated.json.previous_secret_valid_until) > Date.now());
      // A receiver that switched to the new secret at once verifies the next message.
      receiver.secrets.splice(0, 1, rotated.json.secret);
      await shopEvent();
      await worker.runOnce();
      assert.equal(receiver.accepted.length, 3);
      assert.equal(receiver.received.length, 3, 'nothing was refused');

      const disabled = await admin('POST', `/subscriptions/${subscription.id}/disable`);
      assert.deepEqual([disabled.json.enabled, disabled.json.disabled_reason], [false, 'operator']);
      await shopEvent();
      await worker.runOnce();
      assert.equal(receiver.received.length, 3, 'a disabled subscription gets no new deliveries');
      assert.equal((await admin('POST', `/subscriptions/${subscription.id}/enable`)).json.enabled, true);
      await shopEvent();
      await worker.runOnce();
      assert.equal(receiver.accepted.length, 4, 'enabled again, it is sent to again');

      const recovered = await admin('POST', `/subscriptions/${subscription.id}/recover`, { body: { since: new Date(Date.now() - 3600_000).toISOString() } });
      assert.deepEqual(recovered.json, { subscription_id: subscription.id, requeued: 0 }, 'nothing failed for good');

      const bare = await admin('POST', `/subscriptions/${subscription.id}/rotate-secret`);
      assert.equal(bare.status, 200, 'a rotation needs no body (the default overlap, a secret made here)');
      assert.match(bare.json.secret, /^whsec_/);

      const listed = await admin('GET', `/subscriptions?client_id=${SHOP}`);
      assert.deepEqual(listed.json.subscriptions.map((s: { id: string }) => s.id), [subscription.id]);
      assert.equal((await admin('DELETE', `/subscriptions/${subscription.id}`)).status, 204);
      assertProblem(await admin('GET', `/subscriptions/${subscription.id}`), 404, 'not_found');
      assertProblem(await admin('DELETE', `/subscriptions/${subscription.id}`), 404, 'not_found');
    });

    it('pages through events and audit entries with a cursor, filtered by client, user, kind, type and time', async () => {
      for (let i = 0; i < 5; i++) await shopEvent();
      const ada = await user(platform, 'ada.admin@example.com');

      const expected = (await platform.services.events.list({ clientId: SHOP }, { limit: 500 })).items.map((e) => e.id);
      assert.ok(expected.length >= 5);
      const shop = await allPages(`/events?client_id=${SHOP}`, 'events', 2);
      assert.deepEqual(shop.items.map((e) => e.id), expected, 'every event once, newest first');
      assert.equal(shop.pages, Math.ceil(expected.length / 2));
      assert.ok(shop.items.every((e) => e.client_id === SHOP));

      const keys = await allPages(`/events?client_id=${SHOP}&type=api_key.created`, 'events', 3);
      assert.ok(keys.items.length >= 5 && keys.items.every((e) => e.type === 'api_key.created'));
      const kind = await allPages('/events?kind=api_key', 'events', 50);
      assert.deepEqual(kind.items.map((e) => e.id), keys.items.map((e) => e.id), 'a kind is every type of it');
      const prefix = await allPages('/events?type=api_key.', 'events', 50);
      assert.deepEqual(prefix.items.map((e) => e.id), kind.items.map((e) => e.id));

      const adas = await allPages(`/events?user_id=${encodeURIComponent(ada.id)}`, 'events', 10);
      assert.ok(adas.items.length >= 1 && adas.items.every((e) => e.user_id === ada.id));
      assert.ok(adas.items.some((e) => e.type === 'user.created'));
      assert.deepEqual((await admin('GET', '/events?user_id=usr:not-a-user')).json.events, []);

      const newest = shop.items[0]!;
      const since = await admin('GET', `/events?client_id=${SHOP}&since=${encodeURIComponent(newest.created_at)}`);
      assert.ok(since.json.events.length >= 1 && since.json.events.every((e: { created_at: string }) => e.created_at >= newest.created_at));
      const until = await admin('GET', `/events?client_id=${SHOP}&until=${encodeURIComponent(shop.items.at(-1)!.created_at)}`);
      assert.deepEqual(until.json.events, [], 'until is exclusive: nothing of the shop before its first event');

      const entries = await allPages(`/audit?client_id=${SHOP}`, 'entries', 3);
      assert.ok(entries.pages >= 2, 'the shop has more than one page of audit entries');
      const ids = entries.items.map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
      assert.equal(new Set(ids).size, ids.length, 'no entry twice across pages');
      assert.ok(entries.items.every((e) => e.client_id === SHOP && /^[0-9a-f]{64}$/.test(e.hash)));
      const wholeLog = (await platform.services.audit.list({ clientId: SHOP }, { limit: 500 })).entries.map((e) => e.id);
      assert.deepEqual(ids, wholeLog);
      const actions = new Set(entries.items.map((e) => e.action));
      const [action] = [...actions];
      const byAction = await allPages(`/audit?client_id=${SHOP}&action=${action}`, 'entries', 500);
      assert.ok(byAction.items.length >= 1 && byAction.items.every((e) => e.action === action));
    });

    it('answers bad input with 400 problem+json naming the field', async () => {
      const cases: [string, string, unknown?][] = [
        ['GET', '/events?limit=0'],
        ['GET', '/events?limit=1000'],
        ['GET', '/events?limit=ten'],
        ['GET', '/events?cursor=abc'],
        ['GET', '/events?cursor=%24%24'],
        ['GET', '/events?since=yesterday'],
        ['GET', '/events?type=api_key&kind=api_key'],
        ['GET', '/events?colour=blue'],
        ['GET', '/audit?until=2026-02-30T00:00:00Z'],
        ['GET', '/audit?action=Not%20An%20Action'],
        ['GET', '/deliveries?state=lost'],
        ['GET', '/deliveries/abc'],
        ['POST', '/subscriptions', { client_id: SHOP, event_types: ['client.changed'] }],
        ['POST', '/subscriptions', { client_id: SHOP, url: 'https://hooks.example/in', event_types: ['no.such_event'] }],
        ['POST', '/subscriptions', { client_id: SHOP, url: 'not a url', event_types: ['client.changed'] }],
        ['POST', '/subscriptions', { client_id: SHOP, url: 'https://hooks.example/in', event_types: ['client.changed'], admin: true }],
        ['POST', '/subscriptions', { client_id: SHOP, url: 'https://hooks.example/in', event_types: 'client.changed' }],
        ['PATCH', '/subscriptions/sub_x', {}],
        ['POST', '/subscriptions/sub_x/rotate-secret', { overlap_seconds: -1 }],
        ['POST', '/subscriptions/sub_x/recover', { since: 'last week' }],
      ];
      for (const [method, path, body] of cases) {
        const answer = await admin(method, path, { body });
        assertProblem(answer, 400, 'validation_failed');
        assert.ok(answer.json.errors?.length >= 1 || answer.json.title, `${method} ${path} says what is wrong`);
      }
      assertProblem(await admin('POST', '/subscriptions', { rawBody: '{"client_id":' }), 400, 'validation_failed');
      assertProblem(await admin('POST', '/subscriptions', { body: { client_id: 'nobody', url: 'https://hooks.example/in', event_types: ['client.changed'] } }), 404, 'not_found');
    });

    it('is described in /openapi.json with its security schemes', async () => {
      const spec = (await platform.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const schemes = spec.components.securitySchemes;
      assert.equal(schemes.adminOAuth.type, 'oauth2');
      assert.equal(schemes.adminOAuth.flows.clientCredentials.tokenUrl, `${platform.url}/oauth/token`);
      assert.ok(ADMIN_SCOPE in schemes.adminOAuth.flows.clientCredentials.scopes);
      assert.deepEqual({ type: schemes.adminBearer.type, scheme: schemes.adminBearer.scheme }, { type: 'http', scheme: 'bearer' });
      const operations = Object.entries(spec.paths as Record<string, Record<string, any>>)
        .filter(([path]) => path.startsWith('/admin/'))
        .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ name: `${method} ${path}`, op })));
      assert.ok(operations.length >= 13, `${operations.length} admin operations`);
      for (const { name, op } of operations) {
        assert.deepEqual(op.security, [{ adminOAuth: [ADMIN_SCOPE] }, { adminBearer: [] }], name);
        assert.ok(op.responses['401'] && op.responses['403'], `${name} documents its refusals`);
      }
    });
  });
}
