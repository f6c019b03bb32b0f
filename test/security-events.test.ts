import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Codes, defineCodeKind } from '../src/codes/codes.ts';
import { defineFlow } from '../src/flows/engine.ts';
import { randomToken } from '../src/kernel/ids.ts';
import { createLogger } from '../src/kernel/logger.ts';
import { eventSchema } from '../src/notifications/webhooks/catalogue.ts';
import { DeliveryWorker } from '../src/notifications/webhooks/worker.ts';
import { CodesRepo } from '../src/storage/codes-repo.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';
import { basic, postForm } from './support/http.ts';
import { mintGrant } from './support/oauth-mint.ts';
import { startWebhookReceiver, type ReceivedMessage, type WebhookReceiver } from './support/webhook-receiver.ts';

/**
 * Security events an operator can see: a failed sign-in, a limit refusing, a code or
 * refresh token presented again and a failed verification each leave a log line (client,
 * reason code, request id; no username, email address, password or token), an event a
 * webhook receiver gets, signed, and a metric on /metrics; /metrics times each OAuth endpoint
 * under its own route.
 */

const CLIENT = 'sec-mobile';
const REDIRECT_URI = 'https://app.example/callback';
const VERIFIER = 'v'.repeat(43);
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat('date-time', { validate: (v: string) => !Number.isNaN(Date.parse(v)) });

const handOverFlow = defineFlow({ kind: 'security_test', initial: 'open', transitions: { open: ['exchanged'], exchanged: ['revoked'], revoked: [] }, ttlSeconds: 3600 });
const handOverCode = defineCodeKind({ purpose: 'security_test.code', lifetimeSeconds: 60, presented: 'alone', generate: () => randomToken(32) });

for (const backend of await backends()) {
  describe(`security events (${backend})`, () => {
    let platform: TestPlatform;
    let receiver: WebhookReceiver;
    let worker: DeliveryWorker;
    let confidential: { authorization: string };
    const logLines: string[] = [];
    let requests = 0;

    before(async () => {
      platform = await startPlatform(backend, { logLines, env: { IDFLOW_WEBHOOK_ALLOWED_NETWORKS: 'loopback', IDFLOW_SIGNIN_ACCOUNT_IP_FAILURES: '2' } });
      await platform.services.clients.save({ clientId: CLIENT, name: 'Mobile', public: true, grantTypes: ['password', 'refresh_token'], scope: 'openid offline_access' });
      const { secret } = await platform.services.clients.save({ clientId: 'sec-web', name: 'Web', grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT_URI], scope: 'openid' });
      confidential = { authorization: basic('sec-web', secret!) };
      await platform.services.oauth.reloadIfChanged();
      receiver = await startWebhookReceiver();
      for (const clientId of [CLIENT, 'sec-web']) {
        const { secret: signing } = await platform.services.webhooks.subscribe(clientId, { url: receiver.url, eventTypes: ['*'] });
        receiver.secrets.push(signing);
      }
      worker = new DeliveryWorker({ db: platform.services.db, keyring: platform.keyring, clock: platform.clock, logger: createLogger('silent'), settings: platform.config.webhooks, metrics: platform.services.metrics });
    });
    after(async () => {
      await receiver.close();
      await platform.close();
    });

    /** A request id of this test's own, sent as X-Request-Id: the log line must name it. */
    const nextRequestId = () => `sec-test-${backend}-${++requests}`;
    const passwordGrant = (username: string, password: string, requestId = nextRequestId()) =>
      postForm(platform, '/oauth/token', { grant_type: 'password', client_id: CLIENT, username, password, scope: 'openid offline_access' }, { 'x-request-id': requestId });

    /** Delivers until a message of `type` matching `match` arrived (events written after an answer, too). */
    async function delivered(type: string, match: (m: ReceivedMessage) => boolean = () => true): Promise<ReceivedMessage[]> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        await worker.runOnce();
        const found = receiver.accepted.filter((m) => m.json.type === type && match(m));
        if (found.length > 0 || Date.now() > deadline) return found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    function signedAndValid(message: ReceivedMessage): void {
      assert.ok(message.verified, 'standardwebhooks and svix verified the signature');
      assert.ok(ajv.validate(eventSchema(message.json.type), message.json), ajv.errorsText());
    }

    const securityLines = (event: string) => logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.security === true && l.event === event);

    /** A sample of /metrics: the value of `name` with these labels (0 when absent). */
    async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
      const body = (await platform.app.inject('/metrics')).body;
      const line = body.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    }

    it('a failed sign-in: a log line, a sign_in.failed event and a metric, none holding the username, email address or password', async () => {
      const email = `failed-${backend}@example.com`;
      const password = 'the wrong password, typed with care';
      await platform.services.users.create({ email, password: 'a long enough password' });
      const before = await metric('idflow_sign_ins_total', { outcome: 'failure' });
      const requestId = nextRequestId();
      const refused = await passwordGrant(email, password, requestId);
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error, 'invalid_grant');

      const [line] = securityLines('sign_in.failed').filter((l) => l.requestId === requestId);
      assert.ok(line, logLines.join(''));
      assert.equal(line.clientId, CLIENT);
      assert.equal(line.reason, 'invalid_credentials');
      const [message] = await delivered('sign_in.failed', (m) => m.json.data.client_id === CLIENT);
      assert.ok(message, 'the receiver got sign_in.failed');
      signedAndValid(message);
      assert.equal(message.json.data.reason, 'invalid_credentials');
      assert.equal(message.json.data.via, 'password_grant');
      assert.equal(message.json.data.user_id, null, 'no user id: the event does not tell which names are accounts');
      for (const text of [JSON.stringify(line), message.body]) {
        for (const secret of [email, email.split('@')[0]!, password]) assert.ok(!text.includes(secret), `${secret} in ${text}`);
      }
      assert.equal(await metric('idflow_sign_ins_total', { outcome: 'failure' }), before + 1);
    });

    it('a successful sign-in and the tokens it issued are counted, by outcome and by grant type', async () => {
      const email = `ok-${backend}@example.com`;
      await platform.services.users.create({ email, password: 'a long enough password' });
      const [successes, passwordTokens, refreshTokens] = [await metric('idflow_sign_ins_total', { outcome: 'success' }), await metric('idflow_tokens_issued_total', { grant_type: 'password' }), await metric('idflow_tokens_issued_total', { grant_type: 'refresh_token' })];
      const signedIn = await passwordGrant(email, 'a long enough password');
      assert.equal(signedIn.status, 200);
      const refreshed = await postForm(platform, '/oauth/token', { grant_type: 'refresh_token', client_id: CLIENT, refresh_token: signedIn.body.refresh_token });
      assert.equal(refreshed.status, 200);
      assert.equal(await metric('idflow_sign_ins_total', { outcome: 'success' }), successes + 1);
      assert.equal(await metric('idflow_tokens_issued_total', { grant_type: 'password' }), passwordTokens + 1);
      assert.equal(await metric('idflow_tokens_issued_total', { grant_type: 'refresh_token' }), refreshTokens + 1);
    });

    it('throttling: every refusal is logged and counted, the first of its window is an event', async () => {
      const email = `throttled-${backend}@example.com`;
      await platform.services.users.create({ email, password: 'a long enough password' });
      const [hits, throttled] = [await metric('idflow_throttle_hits_total', { limit: 'signin_account_address' }), await metric('idflow_sign_ins_total', { outcome: 'throttled' })];
      for (let i = 0; i < 2; i++) assert.equal((await passwordGrant(email, `wrong ${i}`)).status, 400);
      const ids = [nextRequestId(), nextRequestId()];
      for (const id of ids) {
        const refused = await passwordGrant(email, 'a long enough password', id);
        assert.notEqual(refused.status, 200, 'the limit refuses even the right password');
      }
      const lines = securityLines('limit.exceeded').filter((l) => ids.includes(l.requestId as string));
      assert.deepEqual(lines.map((l) => [l.requestId, l.clientId, l.reason]), ids.map((id) => [id, CLIENT, 'signin_account_address']));
      assert.ok(lines.every((l) => !JSON.stringify(l).includes(email)));
      assert.equal(await metric('idflow_throttle_hits_total', { limit: 'signin_account_address' }), hits + 2);
      assert.equal(await metric('idflow_sign_ins_total', { outcome: 'throttled' }), throttled + 2);
      const messages = await delivered('limit.exceeded', (m) => m.json.data.client_id === CLIENT && m.json.data.limit === 'signin_account_address');
      assert.equal(messages.length, 1, 'one event for the window, however many refusals');
      signedAndValid(messages[0]!);
      assert.ok(messages[0]!.json.data.retry_after >= 1);
      assert.ok(!messages[0]!.body.includes(email));
    });

    it('a refresh token used twice: a log line, token.reuse_detected and a metric', async () => {
      const email = `reuse-${backend}@example.com`;
      await platform.services.users.create({ email, password: 'a long enough password' });
      const signedIn = await passwordGrant(email, 'a long enough password');
      const refresh = (requestId: string) => postForm(platform, '/oauth/token', { grant_type: 'refresh_token', client_id: CLIENT, refresh_token: signedIn.body.refresh_token }, { 'x-request-id': requestId });
      const before = await metric('idflow_reuse_detections_total', { kind: 'refresh_token' });
      assert.equal((await refresh(nextRequestId())).status, 200);
      const requestId = nextRequestId();
      const again = await refresh(requestId);
      assert.equal(again.body.error, 'invalid_grant');
      const [message] = await delivered('token.reuse_detected', (m) => m.json.data.client_id === CLIENT && m.json.data.kind === 'refresh_token');
      assert.ok(message, 'the receiver got token.reuse_detected');
      signedAndValid(message);
      assert.ok(!message.body.includes(signedIn.body.refresh_token));
      const [line] = securityLines('token.reuse_detected').filter((l) => l.requestId === requestId);
      assert.ok(line, logLines.join(''));
      assert.deepEqual([line.clientId, line.reason], [CLIENT, 'refresh_token_reused']);
      assert.ok(!JSON.stringify(line).includes(signedIn.body.refresh_token));
      assert.equal(await metric('idflow_reuse_detections_total', { kind: 'refresh_token' }), before + 1);
    });

    it('an authorization code used twice: a log line, token.reuse_detected and a metric', async () => {
      const accountId = (await platform.services.users.create({ email: `code-${backend}@example.com`, password: 'a long enough password' })).id;
      const code = await (await mintGrant(platform, 'sec-web', accountId, 'openid')).authorizationCode(REDIRECT_URI, CHALLENGE);
      const redeem = (requestId: string) => postForm(platform, '/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, { ...confidential, 'x-request-id': requestId });
      const before = await metric('idflow_reuse_detections_total', { kind: 'authorization_code' });
      assert.equal((await redeem(nextRequestId())).status, 200);
      const requestId = nextRequestId();
      assert.equal((await redeem(requestId)).body.error, 'invalid_grant');
      const [message] = await delivered('token.reuse_detected', (m) => m.json.data.client_id === 'sec-web' && m.json.data.kind === 'authorization_code');
      assert.ok(message, 'the receiver got token.reuse_detected');
      signedAndValid(message);
      const [line] = securityLines('token.reuse_detected').filter((l) => l.requestId === requestId);
      assert.deepEqual([line?.clientId, line?.reason], ['sec-web', 'authorization_code_reused']);
      assert.ok(!JSON.stringify(line).includes(code));
      assert.equal(await metric('idflow_reuse_detections_total', { kind: 'authorization_code' }), before + 1);
    });

    it("one of idflow's own codes used twice: its flow revoked, a log line, token.reuse_detected and a metric", async () => {
      const { services } = platform;
      const codes = new Codes(new CodesRepo(services.db), services.sealer, services.clock, services.security);
      const flow = await services.flows.start(handOverFlow, { clientId: CLIENT, data: {} });
      const { value } = await codes.issue(handOverCode, { flowId: flow.id, clientId: CLIENT, subject: 'subject-1' });
      const before = await metric('idflow_reuse_detections_total', { kind: 'security_test.code' });
      assert.ok((await codes.redeem(handOverCode, { value, clientId: CLIENT })).ok);
      const again = await codes.redeem(handOverCode, { value, clientId: CLIENT });
      assert.equal(!again.ok && again.problem, 'reused');
      const [message] = await delivered('token.reuse_detected', (m) => m.json.data.flow_id === flow.id);
      assert.ok(message, 'the receiver got token.reuse_detected');
      signedAndValid(message);
      assert.deepEqual([message.json.data.kind, message.json.data.client_id, message.json.data.subject], ['security_test.code', CLIENT, `flow:${flow.id}`]);
      const [line] = securityLines('token.reuse_detected').filter((l) => l.flowId === flow.id);
      assert.deepEqual([line?.clientId, line?.reason], [CLIENT, 'security_test.code_reused']);
      assert.ok(!JSON.stringify(line).includes(value));
      assert.equal(await metric('idflow_reuse_detections_total', { kind: 'security_test.code' }), before + 1);
    });

    it('a failed verification: a log line, verification.failed and a metric', async () => {
      const { services } = platform;
      const before = await metric('idflow_verification_failures_total', { provider: 'sandbox', state: 'cancelled' });
      const { verification } = await services.verification.start({ provider: 'sandbox', clientId: CLIENT, returnTo: '/', ip: '203.0.113.9' });
      await services.verification.cancel(verification.id);
      const [message] = await delivered('verification.failed', (m) => m.json.data.verification_id === verification.id);
      assert.ok(message, 'the receiver got verification.failed');
      signedAndValid(message);
      const [line] = securityLines('verification.failed').filter((l) => l.verificationId === verification.id);
      assert.deepEqual([line?.clientId, line?.reason, line?.state], [CLIENT, 'cancelled_by_person', 'cancelled']);
      assert.equal(await metric('idflow_verification_failures_total', { provider: 'sandbox', state: 'cancelled' }), before + 1);
    });

    it('counts webhook attempts by outcome and reports the queue, read from the database', async () => {
      await platform.services.registrationOn(platform.services.db).apiKeys.create(CLIENT);
      assert.ok((await metric('idflow_webhook_queue_depth', { queue: 'outbox' })) >= 1, 'the event waits in the outbox');
      await delivered('client.changed');
      assert.ok((await metric('idflow_webhook_attempts_total', { outcome: 'delivered' })) >= 1);
      const body = (await platform.app.inject('/metrics')).body;
      assert.match(body, /^idflow_webhook_queue_depth\{queue="deliveries"\} \d+$/m);
      assert.match(body, /^idflow_webhook_oldest_due_seconds \d+(\.\d+)?$/m);
    });

    it('times each OAuth endpoint under its own route, never a raw path', async () => {
      await platform.app.inject('/oauth/jwks');
      await postForm(platform, '/oauth/token', { grant_type: 'client_credentials' }, confidential);
      await platform.app.inject('/oauth/authorize/not-a-real-uid-123');
      await platform.app.inject('/oauth/no-such-endpoint/123');
      const routes = new Set([...(await platform.app.inject('/metrics')).body.matchAll(/^idflow_http_request_duration_seconds_count\{[^}]*route="([^"]+)"/gm)].map((m) => m[1]));
      for (const route of ['/oauth/jwks', '/oauth/token', '/oauth/authorize/*', '/oauth/*']) assert.ok(routes.has(route), `${route} in ${[...routes].join(' ')}`);
      for (const route of routes) assert.ok(!/not-a-real|no-such|123/.test(route!), `a raw path as a label: ${route}`);
    });
  });
}
