import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { ManualClock, systemClock } from '../src/kernel/clock.ts';
import { createLogger } from '../src/kernel/logger.ts';
import { EVENT_TYPES, eventSchema } from '../src/notifications/webhooks/catalogue.ts';
import { DestinationPolicy } from '../src/notifications/webhooks/destinations.ts';
import { parseRetryAfter, retryDelayMs } from '../src/notifications/webhooks/schedule.ts';
import { newSigningSecret, signatureOf, webhookHeaders } from '../src/notifications/webhooks/signing.ts';
import { DeliveryWorker } from '../src/notifications/webhooks/worker.ts';
import { applyImport } from '../src/provisioning/import-file.ts';
import { rotateSigningKey } from '../src/oauth/signing-keys.ts';
import { EventsRepo } from '../src/storage/events-repo.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

/**
 * Operator notifications: the catalogue's schemas, Standard Webhooks signatures as receivers
 * check them, delivery committed with the event, the retry schedule on a manual clock, the
 * endpoint's health, redelivery and recovery, the SSRF guard, and workers sharing the work.
 */

const SECONDS = 1000;
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat('date-time', { validate: (v: string) => !Number.isNaN(Date.parse(v)) });
const MINUTES = 60 * SECONDS;

describe('Standard Webhooks signatures', () => {
  it('match the specification’s published test vector', () => {
    // standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts ("sign function works").
    const signature = signatureOf('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', new Date(1614265330 * 1000), '{"test": 2432232314}');
    assert.equal(signature, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verify with standardwebhooks and svix, under either secret during a rotation, and not under another', () => {
    const [current, previous, stranger] = [newSigningSecret(), newSigningSecret(), newSigningSecret()];
    assert.match(current, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ type: 'identity.shared', timestamp: new Date().toISOString(), data: {} });
    const headers = webhookHeaders([current, previous], 'msg_test', new Date(), body);
    assert.equal(headers['webhook-signature']!.split(' ').length, 2, 'one signature per valid secret');
    for (const secret of [current, previous]) {
      assert.deepEqual(new StandardWebhook(secret).verify(body, headers), JSON.parse(body));
      assert.deepEqual(new SvixWebhook(secret).verify(body, headers), JSON.parse(body));
    }
    assert.throws(() => new StandardWebhook(stranger).verify(body, headers));
    assert.throws(() => new SvixWebhook(stranger).verify(body, headers));
    assert.throws(() => new StandardWebhook(current).verify(`${body} `, headers), 'a changed body does not verify');
  });
});

describe('retry schedule', () => {
  it('is Svix’s, stretched by at most a fifth, and honours Retry-After', () => {
    const at = (attempts: number, random: number, retryAfter?: number) => retryDelayMs(attempts, retryAfter, () => random);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => at(n, 0)), [5, 300, 1800, 7200, 18000, 36000, 36000].map((s) => s * 1000));
    assert.equal(at(1, 0.999), Math.round(5 * 1000 * 1.1998));
    assert.equal(at(8, 0), undefined, 'eight attempts, then it gives up');
    assert.equal(at(1, 0, 120), 120_000, 'never sooner than the receiver asks');
    assert.equal(at(3, 0, 60), 1_800_000, 'a shorter Retry-After does not hurry the schedule');
    assert.equal(at(1, 0, 10 * 86400), 86_400_000, 'a receiver cannot park a message for longer than a day');
    const now = new Date('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('30', now), 30);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:02:00 GMT', now), 120);
    assert.equal(parseRetryAfter('soon', now), undefined);
  });
});

describe('destination policy (SSRF)', () => {
  it('refuses loopback, private, link-local and special addresses unless allowed', () => {
    const strict = new DestinationPolicy();
    for (const address of ['127.0.0.1', '::1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', 'fe80::1', 'fd00::1', '0.0.0.0', '::', '::ffff:127.0.0.1', '::ffff:7f00:1', '100.64.0.1', '224.0.0.1']) {
      assert.equal(strict.allows(address), false, address);
    }
    for (const address of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '8.8.8.8']) assert.equal(strict.allows(address), true, address);
    const loopback = new DestinationPolicy(['loopback']);
    assert.equal(loopback.allows('127.0.0.1'), true);
    assert.equal(loopback.allows('10.0.0.1'), false);
    assert.equal(new DestinationPolicy(['10.9.0.0/16']).allows('10.9.8.7'), true);
  });
});

describe('event catalogue', () => {
  it('has a JSON schema for every event type', () => {
    for (const type of EVENT_TYPES) assert.ok(ajv.compile(eventSchema(type)), type);
    for (const expected of ['one_click.started', 'one_click.completed', 'one_click.failed', 'one_click.expired', 'web_kyc.started', 'web_kyc.completed', 'web_kyc.failed', 'verification.started', 'verification.completed', 'verification.failed', 'verification.expired', 'identity.shared', 'client.changed', 'webhook.subscription_disabled']) {
      assert.ok(EVENT_TYPES.includes(expected), expected);
    }
  });
});

const CLIENT = 'shop.example';

for (const backend of await backends()) {
  describe(`webhook delivery (${backend})`, () => {
    let platform: TestPlatform;
    let clock: ManualClock;
    let receiver: WebhookReceiver;
    let worker: DeliveryWorker;

    /** A worker of this node, on the test's clock, with jitter removed so the schedule is exact. */
    const workerOf = (p: TestPlatform, settings: Partial<TestPlatform['config']['webhooks']> = {}) =>
      new DeliveryWorker({ db: p.services.db, keyring: p.keyring, clock: p.clock, logger: createLogger('silent'), settings: { ...p.config.webhooks, ...settings }, random: () => 0 });

    before(async () => {
      clock = new ManualClock(new Date());
      platform = await startPlatform(backend, { clock, env: { IDFLOW_WEBHOOK_ALLOWED_NETWORKS: 'loopback', IDFLOW_WEBHOOK_TIMEOUT_SECONDS: '2', IDFLOW_WEBHOOK_DISABLE_AFTER_SECONDS: String(3 * 86400) } });
      await platform.services.clients.save({ clientId: CLIENT, name: 'Shop', redirectUris: ['https://shop.example/cb'], grantTypes: ['authorization_code'], scope: 'openid' });
      receiver = await startWebhookReceiver();
      worker = workerOf(platform);
    });
    after(async () => {
      await receiver.close();
      await platform.close();
    });

    /** An event of this client, written as the API-key service writes one (the key itself is not needed). */
    async function clientEvent(): Promise<void> {
      await platform.services.registrationOn(platform.services.db).apiKeys.create(CLIENT);
    }

    async function subscribe(url = receiver.url, types = ['client.changed']) {
      return platform.services.webhooks.subscribe(CLIENT, { url, eventTypes: types });
    }

    it('delivers a committed event, signed, with its schema, subject and sequence', async () => {
      const { subscription } = await subscribe();
      await clientEvent();
      await clientEvent();
      await worker.runOnce();
      const mine = receiver.accepted.filter((m) => m.json.type === 'client.changed');
      assert.equal(mine.length, 2);
      for (const message of mine) {
        assert.ok(ajv.validate(eventSchema('client.changed'), message.json), ajv.errorsText());
        assert.equal(message.json.data.client_id, CLIENT);
        assert.equal(message.json.data.subject, `client:${CLIENT}`);
        assert.match(message.id, /^msg_/);
      }
      assert.deepEqual(mine.map((m) => m.json.data.sequence).sort(), [mine[0]!.json.data.sequence, mine[0]!.json.data.sequence + 1].sort(), 'consecutive numbers of one subject');
      const deliveries = await platform.services.webhooks.deliveries({ subscriptionId: subscription.id });
      assert.deepEqual(deliveries.map((d) => d.state), ['delivered', 'delivered']);
      const { attempts } = await platform.services.webhooks.delivery(deliveries[0]!.id);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0]!.status, 204);
      assert.ok(attempts[0]!.durationMs >= 0);
      await platform.services.webhooks.remove(subscription.id);
    });

    it('publishes a flow’s events as it moves, numbered in order on the flow’s subject', async () => {
      await applyImport(platform.services, {
        clients: [{ client_id: 'kyc-shop', name: 'KYC shop', client_secret: 'kyc-shop-secret-0123456789-abcdefghij', redirect_uris: ['https://kyc.example/back'], grant_types: ['authorization_code'], web_kyc: true }],
      });
      const { subscription } = await platform.services.webhooks.subscribe('kyc-shop', { url: receiver.url, eventTypes: ['*'] });
      const answer = await platform.app.inject({ url: `/authorize?response_type=code&client_id=kyc-shop&redirect_uri=${encodeURIComponent('https://kyc.example/back')}&scope=kyc&state=s1` });
      assert.equal(answer.statusCode, 303);
      const intro = answer.headers.location as string;
      const flowId = /([0-9a-f-]{36})$/.exec(intro)![1]!;
      const cookie = String(answer.headers['set-cookie']).split(';')[0]!;
      const page = await platform.app.inject({ url: intro, headers: { cookie } });
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const started = await platform.app.inject({ method: 'POST', url: `${intro}/start`, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `csrf=${encodeURIComponent(csrf)}` });
      assert.equal(started.statusCode, 303);
      await worker.runOnce();
      const messages = receiver.accepted.filter((m) => m.json.data.flow_id === flowId);
      assert.deepEqual(messages.map((m) => m.json.type).sort(), ['verification.started', 'web_kyc.started']);
      for (const m of messages) {
        assert.ok(ajv.validate(eventSchema(m.json.type), m.json), ajv.errorsText());
        assert.equal(m.json.data.subject, `flow:${flowId}`);
        assert.equal(m.json.data.client_id, 'kyc-shop');
      }
      const bySequence = [...messages].sort((a, b) => a.json.data.sequence - b.json.data.sequence);
      assert.deepEqual(bySequence.map((m) => [m.json.type, m.json.data.sequence]), [['web_kyc.started', 1], ['verification.started', 2]]);
      assert.equal(bySequence[1]!.json.data.provider, 'sandbox');
      await platform.services.webhooks.remove(subscription.id);
    });

    it('sends platform events (users, signing keys, audit checkpoints) to subscriptions that name them, and to no other', async () => {
      const { subscription: named } = await subscribe(receiver.url, ['user.created', 'user.updated', 'signing_key.rotated', 'audit.checkpoint']);
      const everything = await startWebhookReceiver();
      const { subscription: all } = await subscribe(everything.url, ['*']);
      const user = await platform.services.users.create({ email: `wh-${Date.now()}@example.com`, password: 'a long enough password' });
      await platform.services.users.createOrUpdate({ email: user.email, password: 'a long enough password' });
      await rotateSigningKey(platform.services.db, platform.keyring, clock, { keepPublishedSeconds: 600, activationDelaySeconds: 0 });
      await platform.services.audit.checkpoint();
      await worker.runOnce();
      const mine = receiver.accepted.filter((m) => ['user.created', 'user.updated', 'signing_key.rotated', 'audit.checkpoint'].includes(m.json.type));
      const created = mine.filter((m) => m.json.type === 'user.created');
      assert.deepEqual(created.map((m) => [m.json.data.user_id, m.json.data.subject]), [[user.id, `user:${user.id}`]]);
      assert.equal(mine.filter((m) => m.json.type === 'user.updated').length, 0, 'the same address written again is no change');
      assert.equal(JSON.stringify(created[0]!.json).includes(user.email!), false, 'no personal data');
      const [rotated] = mine.filter((m) => m.json.type === 'signing_key.rotated');
      assert.ok(ajv.validate(eventSchema('signing_key.rotated'), rotated!.json), ajv.errorsText());
      const [checkpoint] = mine.filter((m) => m.json.type === 'audit.checkpoint');
      assert.ok(ajv.validate(eventSchema('audit.checkpoint'), checkpoint!.json), ajv.errorsText());
      assert.equal(checkpoint!.json.data.format, 'idflow-audit-checkpoint/1');
      assert.equal(everything.received.length, 0, 'a client’s "*" takes its own events, not the platform’s');
      await platform.services.webhooks.remove(named.id);
      await platform.services.webhooks.remove(all.id);
      await everything.close();
    });

    it('wakes up when an event commits, without waiting for the next poll', async () => {
      const { subscription } = await subscribe();
      const sleepy = workerOf(platform, { pollMs: 60_000 });
      await sleepy.start();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = receiver.accepted.length;
      await clientEvent();
      const deadline = Date.now() + 5000;
      while (receiver.accepted.length === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await sleepy.stop();
      assert.equal(receiver.accepted.length, before + 1, 'delivered long before the minute-long poll');
      await platform.services.webhooks.remove(subscription.id);
    });

    it('tells a client who signed in through it, and through which door', async () => {
      await platform.services.clients.save({ clientId: 'wh-mobile', name: 'Mobile', public: true, grantTypes: ['password', 'refresh_token'], scope: 'openid' });
      const { subscription } = await platform.services.webhooks.subscribe('wh-mobile', { url: receiver.url, eventTypes: ['sign_in.completed'] });
      const email = `signin-${Date.now()}@example.com`;
      const user = await platform.services.users.create({ email, password: 'a long enough password' });
      const form = (password: string) => ({ method: 'POST' as const, url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'password', client_id: 'wh-mobile', username: email, password, scope: 'openid' }).toString() });
      const token = await platform.app.inject(form('a long enough password'));
      assert.equal(token.statusCode, 200, token.body);
      const refused = await platform.app.inject(form('not the password'));
      assert.equal(refused.statusCode, 400);
      await worker.runOnce();
      const signIns = receiver.accepted.filter((m) => m.json.type === 'sign_in.completed' && m.json.data.user_id === user.id);
      assert.deepEqual(signIns.map((m) => [m.json.data.client_id, m.json.data.via, m.json.data.method]), [['wh-mobile', 'password_grant', 'password']]);
      assert.ok(ajv.validate(eventSchema('sign_in.completed'), signIns[0]!.json), ajv.errorsText());
      await platform.services.webhooks.remove(subscription.id);
    });

    it('tells a client its registration changed, and not when the same was written again', async () => {
      const { subscription } = await subscribe();
      await platform.services.clients.update(CLIENT, { name: 'Shop (renamed)' });
      await platform.services.clients.update(CLIENT, { name: 'Shop (renamed)' });
      await worker.runOnce();
      const changes = (await platform.services.webhooks.deliveries({ subscriptionId: subscription.id })).map((d) => JSON.parse(d.body).data.change);
      assert.deepEqual(changes, ['registration_updated']);
      await platform.services.webhooks.remove(subscription.id);
    });

    it('writes nothing to deliver when the state change rolls back', async () => {
      const { subscription } = await subscribe();
      await assert.rejects(
        platform.services.db.transaction(async (tx) => {
          await new EventsRepo(tx).record({ type: 'api_key.created', clientId: CLIENT, payload: { keyId: 'k' } }, clock.now());
          throw new Error('the state change failed');
        }),
      );
      await worker.runOnce();
      assert.equal((await platform.services.webhooks.deliveries({ subscriptionId: subscription.id })).length, 0);
      await platform.services.webhooks.remove(subscription.id);
    });

    if (backend === 'postgres') {
      it('does not lose an event whose transaction commits after a later one', async () => {
        const { subscription } = await subscribe();
        const other = await platform.anotherNode();
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let recorded!: () => void;
        const written = new Promise<void>((resolve) => (recorded = resolve));
        // The first event takes its id, then its transaction waits while a second one commits.
        const slow = other.services.db.transaction(async (tx) => {
          await new EventsRepo(tx).record({ type: 'api_key.created', clientId: CLIENT, payload: { keyId: 'early' } }, clock.now());
          recorded();
          await held;
        });
        await written;
        await new EventsRepo(platform.services.db).record({ type: 'api_key.created', clientId: CLIENT, payload: { keyId: 'late' } }, clock.now());
        await worker.runOnce();
        release();
        await slow;
        await worker.runOnce();
        const keys = (await platform.services.webhooks.deliveries({ subscriptionId: subscription.id })).map((d) => JSON.parse(d.body).data.key_id).sort();
        assert.deepEqual(keys, ['early', 'late']);
        await platform.services.webhooks.remove(subscription.id);
        await other.close();
      });
    }

    it('retries on Svix’s schedule, honours Retry-After, logs every attempt, gives up after eight', async () => {
      const { subscription } = await subscribe();
      receiver.always(500);
      receiver.script({ status: 503, headers: { 'retry-after': '600' }, body: 'busy' });
      await clientEvent();
      const sent = () => receiver.received.filter((m) => m.json.type === 'client.changed').length;
      const before = sent();
      await worker.runOnce();
      assert.equal(sent() - before, 1, 'the first attempt is immediate');
      // Retry-After 600 s outweighs the 5 s of the schedule.
      clock.advance(599 * SECONDS);
      await worker.runOnce();
      assert.equal(sent() - before, 1);
      clock.advance(2 * SECONDS);
      await worker.runOnce();
      assert.equal(sent() - before, 2);
      for (const [i, wait] of [5 * MINUTES, 30 * MINUTES, 120 * MINUTES, 300 * MINUTES, 600 * MINUTES, 600 * MINUTES].entries()) {
        clock.advance(wait - SECONDS);
        await worker.runOnce();
        assert.equal(sent() - before, 2 + i, `not before ${wait / MINUTES} min`);
        clock.advance(2 * SECONDS);
        await worker.runOnce();
        assert.equal(sent() - before, 3 + i);
      }
      clock.advance(48 * 3600 * SECONDS);
      await worker.runOnce();
      assert.equal(sent() - before, 8, 'no ninth attempt');
      const [delivery] = await platform.services.webhooks.deliveries({ subscriptionId: subscription.id });
      assert.equal(delivery!.state, 'failed');
      const { attempts } = await platform.services.webhooks.delivery(delivery!.id);
      assert.deepEqual(attempts.map((a) => a.status), [503, 500, 500, 500, 500, 500, 500, 500]);
      assert.equal(attempts[0]!.responseHead, 'busy');
      assert.equal(attempts[1]!.responseHead, 'scripted 500');
      receiver.always(undefined);

      // Recovery: what failed since a time goes again, under the same webhook-id.
      const firstId = receiver.received.at(-1)!.id;
      assert.equal(await platform.services.webhooks.recover(subscription.id, new Date(clock.now().getTime() - 7 * 86400 * SECONDS)), 1);
      await worker.runOnce();
      assert.equal(receiver.accepted.at(-1)!.id, firstId);
      assert.equal((await platform.services.webhooks.delivery(delivery!.id)).delivery.state, 'delivered');

      // Redelivery of one message, delivered already: again, same webhook-id.
      await platform.services.webhooks.redeliver(delivery!.id);
      await worker.runOnce();
      assert.equal(receiver.accepted.at(-1)!.id, firstId);
      await platform.services.webhooks.remove(subscription.id);
    });

    it('catches up with a receiver that was down for a while', async () => {
      const { subscription } = await subscribe();
      await receiver.stop();
      await clientEvent();
      await worker.runOnce();
      clock.advance(6 * SECONDS);
      await worker.runOnce();
      const [delivery] = await platform.services.webhooks.deliveries({ subscriptionId: subscription.id });
      const { attempts } = await platform.services.webhooks.delivery(delivery!.id);
      assert.deepEqual(attempts.map((a) => a.error), ['connection_failed', 'connection_failed']);
      await receiver.start();
      clock.advance(6 * MINUTES);
      await worker.runOnce();
      assert.equal((await platform.services.webhooks.delivery(delivery!.id)).delivery.state, 'delivered');
      assert.equal((await platform.services.webhooks.get(subscription.id)).failing_since, null, 'a success ends the failing streak');
      await platform.services.webhooks.remove(subscription.id);
    });

    it('disables an endpoint that answers 410 Gone, and tells the client’s other subscriptions', async () => {
      const watcher = await startWebhookReceiver();
      const { subscription: gone } = await subscribe();
      const { subscription: watching } = await subscribe(watcher.url, ['webhook.subscription_disabled']);
      receiver.script(410);
      await clientEvent();
      await worker.runOnce();
      const view = await platform.services.webhooks.get(gone.id);
      assert.equal(view.enabled, false);
      assert.equal(view.disabled_reason, 'gone');
      await worker.runOnce();
      const told = watcher.accepted.filter((m) => m.json.type === 'webhook.subscription_disabled');
      assert.equal(told.length, 1);
      assert.deepEqual([told[0]!.json.data.subscription_id, told[0]!.json.data.reason], [gone.id, 'gone']);
      assert.ok(ajv.validate(eventSchema('webhook.subscription_disabled'), told[0]!.json), ajv.errorsText());
      // Disabled: new events wait for nobody; enabled again, it receives what comes next.
      await clientEvent();
      await worker.runOnce();
      assert.equal((await platform.services.webhooks.deliveries({ subscriptionId: gone.id })).length, 1);
      await platform.services.webhooks.setEnabled(gone.id, true);
      await clientEvent();
      await worker.runOnce();
      assert.equal((await platform.services.webhooks.deliveries({ subscriptionId: gone.id, state: 'delivered' })).length, 1);
      await platform.services.webhooks.remove(gone.id);
      await platform.services.webhooks.remove(watching.id);
      await watcher.close();
    });

    it('disables an endpoint that kept failing for the configured time', async () => {
      const { subscription } = await subscribe();
      receiver.always(500);
      await clientEvent();
      for (let hours = 0; hours <= 80 && (await platform.services.webhooks.get(subscription.id)).enabled; hours += 1) {
        await worker.runOnce();
        if (hours % 10 === 0) await clientEvent();
        clock.advance(3600 * SECONDS);
      }
      const view = await platform.services.webhooks.get(subscription.id);
      assert.equal(view.enabled, false);
      assert.equal(view.disabled_reason, 'failing');
      const failingFor = clock.now().getTime() - Date.parse(view.failing_since!);
      assert.ok(failingFor >= 3 * 86400 * SECONDS && failingFor <= 3 * 86400 * SECONDS + 3 * 3600 * SECONDS, `disabled after three days of failures, not ${failingFor / 3600_000} h`);
      receiver.always(undefined);
      await platform.services.webhooks.remove(subscription.id);
    });

    it('counts a receiver that rejects the signature as a failure, and logs its answer', async () => {
      const strict = await startWebhookReceiver([newSigningSecret()]);
      const { subscription } = await subscribe(strict.url);
      await clientEvent();
      await worker.runOnce();
      const [delivery] = await platform.services.webhooks.deliveries({ subscriptionId: subscription.id });
      assert.equal(delivery!.state, 'pending');
      const { attempts } = await platform.services.webhooks.delivery(delivery!.id);
      assert.deepEqual([attempts[0]!.status, attempts[0]!.responseHead], [401, 'invalid signature']);
      await platform.services.webhooks.remove(subscription.id);
      await strict.close();
    });

    it('refuses loopback destinations unless the configuration allows them', async () => {
      const strictNode = await platform.anotherNode({ IDFLOW_WEBHOOK_ALLOWED_NETWORKS: '' });
      await assert.rejects(strictNode.services.webhooks.subscribe(CLIENT, { url: receiver.url, eventTypes: ['client.changed'] }), (e: any) => e.code === 'validation_failed' && /loopback/.test(e.message));
      // A name that resolves to loopback is caught when it is resolved, at delivery.
      const { subscription } = await subscribe(receiver.url.replace('127.0.0.1', 'localhost'));
      await clientEvent();
      const before = receiver.received.length;
      await workerOf(strictNode).runOnce();
      assert.equal(receiver.received.length, before, 'nothing reached the receiver');
      const [delivery] = await platform.services.webhooks.deliveries({ subscriptionId: subscription.id });
      const { attempts } = await platform.services.webhooks.delivery(delivery!.id);
      assert.equal(attempts[0]!.error, 'destination_refused');
      await platform.services.webhooks.remove(subscription.id);
      await strictNode.close();
    });

    it('rotates a secret keeping both valid for the overlap', async () => {
      const { subscription, secret: first } = await subscribe();
      const { secret: second, previousValidUntil } = await platform.services.webhooks.rotateSecret(subscription.id, { overlapSeconds: 3600 });
      assert.notEqual(first, second);
      assert.equal(previousValidUntil.getTime(), clock.now().getTime() + 3600 * SECONDS);
      await clientEvent();
      await worker.runOnce();
      const during = receiver.accepted.at(-1)!;
      const signed = (secret: string) => during.signature.split(' ').includes(signatureOf(secret, during.id, new Date(Number(during.timestamp) * 1000), during.body));
      assert.ok(signed(first) && signed(second), 'both secrets sign during the overlap');
      clock.advance(3601 * SECONDS);
      await clientEvent();
      await worker.runOnce();
      const afterwards = receiver.accepted.at(-1)!;
      assert.equal(afterwards.signature.split(' ').length, 1);
      assert.equal(afterwards.signature, signatureOf(second, afterwards.id, new Date(Number(afterwards.timestamp) * 1000), afterwards.body));
      await platform.services.webhooks.remove(subscription.id);
    });

    it('takes subscriptions from the import file, and refuses bad ones by name', async () => {
      const secret = newSigningSecret();
      const document = { clients: [{ client_id: CLIENT, webhooks: [{ url: 'https://hooks.shop.example/idflow', event_types: ['identity.shared', 'one_click.completed'], secret }] }] };
      assert.deepEqual((await applyImport(platform.services, document)).webhooks, { created: 1, updated: 0 });
      assert.deepEqual((await applyImport(platform.services, document)).webhooks, { created: 0, updated: 1 });
      const [imported] = (await platform.services.webhooks.list(CLIENT)).filter((s) => s.url === 'https://hooks.shop.example/idflow');
      assert.deepEqual(imported!.event_types, ['identity.shared', 'one_click.completed']);
      assert.equal(imported!.previous_secret_valid_until, null, 'the same secret again is no rotation');
      await assert.rejects(
        applyImport(platform.services, { clients: [{ client_id: CLIENT, webhooks: [{ url: 'ftp://x', event_types: ['nope'], secret: 'plain' }] }] }),
        (e: any) => /clients\[0\]\.webhooks\[0\]\.url/.test(e.message) && /"nope" is not an event type/.test(e.message),
      );
      await platform.services.webhooks.remove(imported!.id);
    });

    it('shares the work between nodes without sending a message twice', { skip: backend === 'pglite' && 'the embedded database has one node' }, async () => {
      const { subscription } = await subscribe();
      const other = await platform.anotherNode();
      for (let i = 0; i < 30; i += 1) await clientEvent();
      const before = receiver.received.length;
      await Promise.all([worker.runOnce(), workerOf(other).runOnce(), workerOf(platform).runOnce()]);
      await worker.runOnce();
      const ids = receiver.received.slice(before).map((m) => m.id);
      assert.equal(ids.length, 30);
      assert.equal(new Set(ids).size, 30);
      await platform.services.webhooks.remove(subscription.id);
      await other.close();
    });
  });
}

describe('a slow receiver', () => {
  it('never holds up another receiver’s deliveries, nor a request', async () => {
    const platform = await startPlatform('pglite', { env: { IDFLOW_WEBHOOK_ALLOWED_NETWORKS: 'loopback', IDFLOW_WEBHOOK_TIMEOUT_SECONDS: '5', IDFLOW_WEBHOOK_POLL_MS: '50', IDFLOW_WEBHOOK_CONCURRENCY_PER_ENDPOINT: '2' } });
    const slow = await startWebhookReceiver();
    const fast = await startWebhookReceiver();
    slow.always({ delayMs: 3000 });
    try {
      await platform.services.clients.save({ clientId: 'slow', name: 'Slow', redirectUris: ['https://slow.example/cb'], grantTypes: ['authorization_code'], scope: 'openid' });
      await platform.services.clients.save({ clientId: 'fast', name: 'Fast', redirectUris: ['https://fast.example/cb'], grantTypes: ['authorization_code'], scope: 'openid' });
      const { secret: slowSecret } = await platform.services.webhooks.subscribe('slow', { url: slow.url, eventTypes: ['*'] });
      const { secret: fastSecret } = await platform.services.webhooks.subscribe('fast', { url: fast.url, eventTypes: ['*'] });
      slow.secrets.push(slowSecret);
      fast.secrets.push(fastSecret);
      const worker = new DeliveryWorker({ db: platform.services.db, keyring: platform.keyring, clock: systemClock, logger: createLogger('silent'), settings: platform.config.webhooks });
      await worker.start();
      const keys = platform.services.registrationOn(platform.services.db).apiKeys;
      const started = Date.now();
      for (let i = 0; i < 10; i += 1) await keys.create('slow');
      for (let i = 0; i < 5; i += 1) await keys.create('fast');
      assert.ok(Date.now() - started < 2000, 'writing the events waited for no delivery');
      while (fast.accepted.length < 5 && Date.now() - started < 2500) await new Promise((resolve) => setTimeout(resolve, 25));
      assert.equal(fast.accepted.length, 5, 'the fast receiver got everything while the slow one was still answering');
      assert.ok(fast.accepted.every((m) => m.verified));
      assert.equal(slow.accepted.length, 0);
      await worker.stop();
    } finally {
      await slow.close();
      await fast.close();
      await platform.close();
    }
  });
});
