import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig, type Config } from '../src/config/index.ts';
import { ManualClock } from '../src/kernel/clock.ts';
import { AppError, type ErrorCode } from '../src/kernel/errors.ts';
import { createLogger } from '../src/kernel/logger.ts';
import { createSmsSender } from '../src/notifications/sms/index.ts';
import { DestinationPolicy } from '../src/notifications/sms/destination-policy.ts';
import { DevOutboxSender } from '../src/notifications/sms/dev-outbox-sender.ts';
import { LimitedSmsSender } from '../src/notifications/sms/limited-sender.ts';
import { limitCatalogue } from '../src/limits/catalogue.ts';
import { Limits } from '../src/limits/limits.ts';
import { databaseLimitStore } from '../src/limits/stores.ts';
import type { SmsMessage, SmsSender } from '../src/notifications/sms/sender.ts';
import { TwilioSender, type TwilioOptions } from '../src/notifications/sms/twilio-sender.ts';
import { startFakeTwilio, type FakeTwilio } from './support/fake-twilio.ts';
import { backends, freshDb, startPlatform, type TestDb, type TestPlatform } from './support/platform.ts';

const PHONE = '+14155552671';
const MASKED = '+*********71';
const CA_PHONE = '+16135551234';
const DE_PHONE = '+4915123456789';

/** A logger whose JSON lines the test can read, raw and parsed. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
  return { logger, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

function message(to: string, overrides: Partial<SmsMessage> = {}): SmsMessage {
  return { to, text: 'Your idflow code is 482913', clientId: 'shop', purpose: 'verification_code', ...overrides };
}

/** Asserts `promise` rejects with an AppError of `code`, and returns it. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof AppError, `expected AppError(${code}), got ${String(caught)}`);
  assert.equal(caught.code, code, `${caught.code}: ${caught.detail}`);
  return caught;
}

class RecordingSender implements SmsSender {
  readonly sent: SmsMessage[] = [];
  async send(m: SmsMessage): Promise<void> {
    this.sent.push(m);
  }
}

type SmsLimits = Config['sms']['limits'];

/** The limits' counters: an embedded database shared by the limit tests (each sender counts under its own key). */
let countersDb: TestDb;

function limited(limits: Partial<SmsLimits> = {}, allowedCountries?: string[]) {
  const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
  const inner = new RecordingSender();
  const log = capturedLogger();
  const catalogue = limitCatalogue({
    signInThrottle: loadConfig({}).signInThrottle,
    verificationStarts: loadConfig({}).verificationStarts,
    sms: { limits: { phonePer10Min: 3, phonePerDay: 10, clientPerHour: 100, ...limits } },
  });
  const sender = new LimitedSmsSender(
    inner,
    new Limits(databaseLimitStore(countersDb.db, clock), randomBytes(32)),
    catalogue.sms,
    new DestinationPolicy(allowedCountries),
    log.logger,
  );
  return { clock, inner, sender, log };
}

describe('SMS send limits', () => {
  before(async () => {
    countersDb = await freshDb('pglite');
  });
  after(() => countersDb.drop());

  it('sends three messages to a phone in ten minutes, refuses the fourth without sending it, and allows it once the window resets', async () => {
    const { clock, inner, sender } = limited();
    for (let i = 0; i < 3; i++) await sender.send(message(PHONE));
    clock.advance(5 * 60_000);
    const error = await rejectsWith(sender.send(message(PHONE)), 'too_many_requests');
    assert.equal(error.status, 429);
    assert.equal(error.retryAfter, 300, 'the window opened five minutes ago and lasts ten');
    assert.equal(inner.sent.length, 3, 'a refused message is not sent');
    clock.advance(5 * 60_000);
    await sender.send(message(PHONE));
    assert.equal(inner.sent.length, 4);
  });

  it('caps a phone per day across ten-minute windows', async () => {
    const { clock, inner, sender } = limited({ phonePer10Min: 3, phonePerDay: 5 });
    for (let i = 0; i < 3; i++) await sender.send(message(PHONE));
    clock.advance(10 * 60_000);
    for (let i = 0; i < 2; i++) await sender.send(message(PHONE));
    clock.advance(10 * 60_000);
    const error = await rejectsWith(sender.send(message(PHONE)), 'too_many_requests');
    assert.equal(error.retryAfter, 86_400 - 20 * 60, 'until the day that began with the first message is over');
    clock.advance(86_400_000 - 20 * 60_000 - 1000);
    await rejectsWith(sender.send(message(PHONE)), 'too_many_requests');
    clock.advance(1000);
    await sender.send(message(PHONE));
    assert.equal(inner.sent.length, 6);
  });

  it('caps a client per hour across phones, without touching other clients or the refused phone’s budget', async () => {
    const { clock, inner, sender } = limited({ clientPerHour: 4 });
    const phones = ['+14155550101', '+14155550102', '+14155550103', '+14155550104'];
    for (const phone of phones) await sender.send(message(phone, { clientId: 'pump' }));
    const error = await rejectsWith(sender.send(message(PHONE, { clientId: 'pump' })), 'too_many_requests');
    assert.equal(error.retryAfter, 3600);
    // The refused send did not count against PHONE: another client still has all three.
    for (let i = 0; i < 3; i++) await sender.send(message(PHONE, { clientId: 'shop' }));
    await rejectsWith(sender.send(message(PHONE, { clientId: 'shop' })), 'too_many_requests');
    clock.advance(3600_000);
    await sender.send(message('+14155550105', { clientId: 'pump' }));
    assert.equal(inner.sent.filter((m) => m.clientId === 'pump').length, 5);
  });

  it('logs a refusal with the phone masked', async () => {
    const { sender, log } = limited({ phonePer10Min: 1 });
    await sender.send(message(PHONE));
    await rejectsWith(sender.send(message(PHONE)), 'too_many_requests');
    const entry = log.entries().find((e) => e.msg === 'sms.limited');
    assert.ok(entry, log.lines.join(''));
    assert.equal(entry.to, MASKED);
    assert.equal(entry.limit, 'sms_phone_10m');
    assert.ok(!log.lines.join('').includes(PHONE.slice(1)), 'the number is never logged whole');
  });

  it('refuses destinations that are not strict, valid E.164, without counting them', async () => {
    const { inner, sender } = limited({ phonePer10Min: 1 });
    for (const bad of ['4155552671', '+1 415 555 2671', '+1415555267', '+1-415-555-2671', '', 'whatsapp:+14155552671']) {
      await rejectsWith(sender.send(message(bad)), 'invalid_phone');
    }
    assert.equal(inner.sent.length, 0);
    await sender.send(message(PHONE));
  });

  it('sends only to the allowed countries when a list is configured', async () => {
    const { inner, sender } = limited({}, ['US', 'CA']);
    await sender.send(message(PHONE));
    await sender.send(message(CA_PHONE));
    const error = await rejectsWith(sender.send(message(DE_PHONE)), 'invalid_phone');
    assert.match(error.publicMessage, /country/);
    await rejectsWith(limited({}, ['US']).sender.send(message(CA_PHONE)), 'invalid_phone');
    assert.deepEqual(inner.sent.map((m) => m.to), [PHONE, CA_PHONE]);
    await limited().sender.send(message(DE_PHONE));
  });
});

describe('DevOutboxSender', () => {
  it('keeps the last messages per phone, oldest first, and logs each with the phone masked', async () => {
    const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
    const log = capturedLogger();
    const outbox = new DevOutboxSender(clock, log.logger, { perPhone: 2 });
    for (const code of ['111111', '222222', '333333']) {
      await outbox.send(message(PHONE, { text: `Your idflow code is ${code}` }));
      clock.advance(1000);
    }
    assert.deepEqual(outbox.messagesFor(PHONE), [
      { to: PHONE, text: 'Your idflow code is 222222', createdAt: '2030-01-01T00:00:01.000Z' },
      { to: PHONE, text: 'Your idflow code is 333333', createdAt: '2030-01-01T00:00:02.000Z' },
    ]);
    assert.deepEqual(outbox.messagesFor(CA_PHONE), []);
    const entries = log.entries().filter((e) => e.msg === 'sms.outbox');
    assert.equal(entries.length, 3);
    assert.equal(entries[2]!.level, 30, 'info');
    assert.equal(entries[2]!.to, MASKED);
    assert.equal(entries[2]!.text, 'Your idflow code is 333333', 'in development the code is readable in the log');
    assert.ok(!log.lines.join('').includes(PHONE.slice(1)), 'the number is never logged whole');
  });

  it('forgets the least recently texted phone past its capacity', async () => {
    const outbox = new DevOutboxSender(new ManualClock(), capturedLogger().logger, { maxPhones: 2 });
    await outbox.send(message(PHONE));
    await outbox.send(message(CA_PHONE));
    await outbox.send(message(PHONE));
    await outbox.send(message(DE_PHONE));
    assert.equal(outbox.messagesFor(CA_PHONE).length, 0);
    assert.equal(outbox.messagesFor(PHONE).length, 2);
    assert.equal(outbox.messagesFor(DE_PHONE).length, 1);
  });
});

describe('TwilioSender against a local Twilio', () => {
  let fake: FakeTwilio;
  before(async () => {
    fake = await startFakeTwilio();
  });
  after(() => fake.close());

  function twilio(overrides: Partial<TwilioOptions> = {}) {
    const log = capturedLogger();
    const options: TwilioOptions = { accountSid: fake.accountSid, authToken: fake.authToken, from: '+15005550006', baseUrl: fake.url, retryDelayMs: 10, ...overrides };
    return { sender: new TwilioSender(options, log.logger), log };
  }

  /** Requests made while `fn` runs. */
  async function during(fn: () => Promise<unknown>) {
    const start = fake.requests.length;
    await fn().catch(() => {});
    return fake.requests.slice(start);
  }

  it('posts To, From and Body as a form with Basic auth to the account’s Messages resource', async () => {
    const { sender, log } = twilio();
    const requests = await during(() => sender.send(message(PHONE)));
    assert.equal(requests.length, 1);
    const [request] = requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`);
    assert.equal(request!.authorization, `Basic ${Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString('base64')}`);
    assert.equal(request!.contentType, 'application/x-www-form-urlencoded');
    assert.deepEqual(request!.form, { To: PHONE, Body: 'Your idflow code is 482913', From: '+15005550006' });
    const sent = log.entries().find((e) => e.msg === 'sms.sent');
    assert.ok(sent);
    assert.match(String(sent.sid), /^SM[0-9a-f]{32}$/);
    assert.equal(sent.status, 'queued');
    assert.equal(sent.to, MASKED);
    assert.ok(!log.lines.join('').includes('482913'), 'a real provider’s log line never carries the text');
  });

  it('sends through a Messaging Service when one is configured', async () => {
    const { sender, log } = twilio({ from: undefined, messagingServiceSid: fake.messagingServiceSid });
    const [request] = await during(() => sender.send(message(PHONE)));
    assert.deepEqual(request!.form, { To: PHONE, Body: 'Your idflow code is 482913', MessagingServiceSid: fake.messagingServiceSid });
    assert.equal(log.entries().find((e) => e.msg === 'sms.sent')?.status, 'accepted');
  });

  it('on bad credentials fails once, without the token anywhere in the error or the logs', async () => {
    const wrongToken = randomBytes(16).toString('hex');
    const { sender, log } = twilio({ authToken: wrongToken });
    let error: AppError | undefined;
    const requests = await during(async () => {
      error = await rejectsWith(sender.send(message(PHONE)), 'internal');
    });
    assert.equal(requests.length, 1, 'a 4xx is not retried');
    assert.match(error!.detail!, /HTTP 401 code 20003/);
    const everything = [error!.message, error!.publicMessage, error!.detail, inspect(error, { depth: 5 }), JSON.stringify(error), ...log.lines].join('\n');
    assert.ok(!everything.includes(wrongToken), 'the token never leaves the Authorization header');
    assert.ok(!everything.includes(Buffer.from(`${fake.accountSid}:${wrongToken}`).toString('base64')), 'nor its Basic encoding');
    assert.ok(log.entries().some((e) => e.msg === 'sms.failed' && e.level === 50));
  });

  it('turns Twilio’s 21211 into invalid_phone, without the number in the detail', async () => {
    const { sender, log } = twilio();
    let error: AppError | undefined;
    const requests = await during(async () => {
      error = await rejectsWith(sender.send(message('+15005550001')), 'invalid_phone');
    });
    assert.equal(requests.length, 1);
    assert.equal(error!.status, 400);
    assert.match(error!.detail!, /code 21211: The 'To' number \+\*{9}01 is not a valid phone number/);
    assert.ok(!log.lines.join('').includes('15005550001'));
  });

  it('retries a 5xx once and succeeds', async () => {
    const { sender, log } = twilio();
    fake.script(503);
    const requests = await during(() => sender.send(message(PHONE)));
    assert.equal(requests.length, 2);
    assert.ok(log.entries().some((e) => e.msg === 'sms.retry' && e.reason === 'HTTP 503'));
    assert.ok(log.entries().some((e) => e.msg === 'sms.sent'));
  });

  it('gives up after a second 5xx with unavailable', async () => {
    const { sender } = twilio();
    fake.script(500, 502);
    let error: AppError | undefined;
    const requests = await during(async () => {
      error = await rejectsWith(sender.send(message(PHONE)), 'unavailable');
    });
    assert.equal(requests.length, 2, 'exactly one retry');
    assert.equal(error!.status, 503);
  });

  it('does not retry a 4xx, and passes Twilio’s 429 on as too_many_requests with its Retry-After', async () => {
    const { sender } = twilio();
    fake.script(400);
    assert.equal((await during(() => rejectsWith(sender.send(message(PHONE)), 'internal'))).length, 1);
    fake.script(429);
    let error: AppError | undefined;
    const requests = await during(async () => {
      error = await rejectsWith(sender.send(message(PHONE)), 'too_many_requests');
    });
    assert.equal(requests.length, 1);
    assert.equal(error!.retryAfter, 30);
  });

  it('times out a provider that does not answer, retries once, then fails', async () => {
    const { sender, log } = twilio({ timeoutMs: 300 });
    fake.script('hang', 'hang');
    const started = Date.now();
    let error: AppError | undefined;
    const requests = await during(async () => {
      error = await rejectsWith(sender.send(message(PHONE)), 'unavailable');
    });
    const elapsed = Date.now() - started;
    assert.equal(requests.length, 2);
    assert.ok(elapsed >= 600 && elapsed < 3000, `two 300 ms timeouts took ${elapsed} ms`);
    assert.equal(error!.detail, 'twilio: timeout');
    assert.ok(!log.lines.join('').includes(fake.authToken));
  });

  it('uses a 5 s timeout by default', async () => {
    // Hang once; the retry answers. Waiting out the real default proves it is not unbounded.
    const { sender, log } = twilio();
    fake.script('hang');
    const started = Date.now();
    await sender.send(message(PHONE));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 4900 && elapsed < 7000, `took ${elapsed} ms`);
    assert.ok(log.entries().some((e) => e.msg === 'sms.retry' && e.reason === 'timeout'));
  });

  it('retries once after a dropped connection', async () => {
    const { sender } = twilio();
    fake.script('reset');
    const requests = await during(() => sender.send(message(PHONE)));
    assert.equal(requests.length, 2);
  });

  it('fails with unavailable when nothing listens, without the token in the error', async () => {
    const closed = await startFakeTwilio();
    await closed.close();
    const { sender } = twilio({ baseUrl: closed.url });
    const error = await rejectsWith(sender.send(message(PHONE)), 'unavailable');
    assert.match(error.detail!, /^twilio: network /);
    assert.ok(!inspect(error, { depth: 5 }).includes(fake.authToken));
  });
});

describe('SMS configuration', () => {
  const sid = `AC${'a1'.repeat(16)}`;
  const token = 'f00dfeed'.repeat(4);
  const keys = `k1:${randomBytes(32).toString('base64')}`;
  const production = { IDFLOW_ENV: 'production', IDFLOW_SEALING_KEYS: keys, IDFLOW_ISSUER: 'https://id.example.com' };
  const twilioEnv = { IDFLOW_SMS_SENDER: 'twilio', IDFLOW_TWILIO_ACCOUNT_SID: sid, IDFLOW_TWILIO_AUTH_TOKEN: token, IDFLOW_TWILIO_FROM: '+15005550006' };

  function failsOn(env: Record<string, string>, variable: string, secret?: string): void {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.variable, variable, error.message);
        assert.ok(error.message.startsWith(`${variable}: `));
        if (secret) assert.ok(!error.message.includes(secret), 'the secret is not repeated');
        return true;
      },
    );
  }

  it('defaults to the dev outbox in development and to no SMS in production', () => {
    const dev = loadConfig({});
    assert.deepEqual(dev.sms, { sender: 'dev', twilio: undefined, limits: { phonePer10Min: 3, phonePerDay: 10, clientPerHour: 100 }, allowedCountries: undefined });
    assert.equal(loadConfig(production).sms.sender, 'none');
  });

  it('refuses the dev sender in production, in the configuration and in the factory', () => {
    failsOn({ ...production, IDFLOW_SMS_SENDER: 'dev' }, 'IDFLOW_SMS_SENDER');
    const handMade: Config = { ...loadConfig(production), sms: { ...loadConfig({}).sms, sender: 'dev' } };
    const limits = { limits: new Limits(databaseLimitStore({} as never, new ManualClock()), randomBytes(32)), catalogue: limitCatalogue(handMade).sms };
    assert.throws(() => createSmsSender(handMade, new ManualClock(), capturedLogger().logger, limits), (error: unknown) => error instanceof ConfigError && error.variable === 'IDFLOW_SMS_SENDER');
  });

  it('reads the Twilio settings and the limits', () => {
    const config = loadConfig({
      ...production,
      ...twilioEnv,
      IDFLOW_TWILIO_MESSAGING_SERVICE_SID: `MG${'0b'.repeat(16)}`,
      IDFLOW_TWILIO_BASE_URL: 'https://api.dublin.ie1.twilio.com/',
      IDFLOW_SMS_PHONE_LIMIT_PER_10MIN: '2',
      IDFLOW_SMS_PHONE_LIMIT_PER_DAY: '6',
      IDFLOW_SMS_CLIENT_LIMIT_PER_HOUR: '5000',
      IDFLOW_SMS_ALLOWED_COUNTRIES: 'us, ca',
    });
    assert.deepEqual(config.sms, {
      sender: 'twilio',
      twilio: { accountSid: sid, authToken: token, from: '+15005550006', messagingServiceSid: `MG${'0b'.repeat(16)}`, baseUrl: 'https://api.dublin.ie1.twilio.com' },
      limits: { phonePer10Min: 2, phonePerDay: 6, clientPerHour: 5000 },
      allowedCountries: ['US', 'CA'],
    });
    assert.equal(loadConfig({ IDFLOW_SMS_SENDER: 'twilio', IDFLOW_TWILIO_ACCOUNT_SID: sid, IDFLOW_TWILIO_AUTH_TOKEN: token, IDFLOW_TWILIO_FROM: 'idflow' }).sms.twilio?.baseUrl, 'https://api.twilio.com');
  });

  it('names the variable of every bad SMS value, never repeating the auth token', () => {
    failsOn({ IDFLOW_SMS_SENDER: 'nexmo' }, 'IDFLOW_SMS_SENDER');
    failsOn({ ...twilioEnv, IDFLOW_TWILIO_ACCOUNT_SID: '' }, 'IDFLOW_TWILIO_ACCOUNT_SID');
    failsOn({ ...twilioEnv, IDFLOW_TWILIO_ACCOUNT_SID: 'AC123' }, 'IDFLOW_TWILIO_ACCOUNT_SID');
    failsOn({ ...twilioEnv, IDFLOW_TWILIO_AUTH_TOKEN: '' }, 'IDFLOW_TWILIO_AUTH_TOKEN');
    failsOn({ ...twilioEnv, IDFLOW_TWILIO_AUTH_TOKEN: `"${token}"` }, 'IDFLOW_TWILIO_AUTH_TOKEN', token);
    failsOn({ ...twilioEnv, IDFLOW_TWILIO_FROM: '' }, 'IDFLOW_TWILIO_FROM');
    failsOn({ ...twilioEnv, IDFLOW_TWILIO_FROM: '415-555-2671' }, 'IDFLOW_TWILIO_FROM');
    failsOn({ ...twilioEnv, IDFLOW_TWILIO_MESSAGING_SERVICE_SID: 'MGnope' }, 'IDFLOW_TWILIO_MESSAGING_SERVICE_SID');
    failsOn({ ...twilioEnv, IDFLOW_TWILIO_BASE_URL: 'api.twilio.com' }, 'IDFLOW_TWILIO_BASE_URL');
    failsOn({ ...production, ...twilioEnv, IDFLOW_TWILIO_BASE_URL: 'http://127.0.0.1:9999' }, 'IDFLOW_TWILIO_BASE_URL');
    failsOn({ IDFLOW_SMS_PHONE_LIMIT_PER_10MIN: '0' }, 'IDFLOW_SMS_PHONE_LIMIT_PER_10MIN');
    failsOn({ IDFLOW_SMS_PHONE_LIMIT_PER_DAY: 'lots' }, 'IDFLOW_SMS_PHONE_LIMIT_PER_DAY');
    failsOn({ IDFLOW_SMS_PHONE_LIMIT_PER_10MIN: '20', IDFLOW_SMS_PHONE_LIMIT_PER_DAY: '10' }, 'IDFLOW_SMS_PHONE_LIMIT_PER_10MIN');
    failsOn({ IDFLOW_SMS_CLIENT_LIMIT_PER_HOUR: '-5' }, 'IDFLOW_SMS_CLIENT_LIMIT_PER_HOUR');
    failsOn({ IDFLOW_SMS_ALLOWED_COUNTRIES: 'USA' }, 'IDFLOW_SMS_ALLOWED_COUNTRIES');
    failsOn({ IDFLOW_SMS_ALLOWED_COUNTRIES: 'US,XX' }, 'IDFLOW_SMS_ALLOWED_COUNTRIES');
  });
});

for (const backend of await backends()) {
  describe(`SMS in the running platform (${backend})`, () => {
    describe('development, dev outbox', () => {
      let platform: TestPlatform;
      before(async () => {
        platform = await startPlatform(backend);
      });
      after(() => platform.close());

      const outbox = (phone: string, remoteAddress: string, headers: Record<string, string> = {}) =>
        platform.app.inject({ method: 'GET', url: `/dev/sms-outbox?phone=${encodeURIComponent(phone)}`, remoteAddress, headers });

      it('shows a sent code to a caller on this machine', async () => {
        await platform.services.sms.send(message(PHONE, { text: 'Your idflow code is 604218' }));
        for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
          const response = await outbox(PHONE, address);
          assert.equal(response.statusCode, 200, `${address}: ${response.body}`);
          const body = response.json() as { messages: { to: string; text: string; createdAt: string }[] };
          assert.equal(body.messages.length, 1);
          assert.equal(body.messages[0]!.to, PHONE);
          assert.equal(body.messages[0]!.text, 'Your idflow code is 604218');
          assert.ok(Math.abs(Date.parse(body.messages[0]!.createdAt) - Date.now()) < 60_000);
        }
        assert.deepEqual((await outbox(CA_PHONE, '127.0.0.1')).json(), { messages: [] });
        assert.equal((await outbox('not a phone', '127.0.0.1')).statusCode, 400);
      });

      it('is indistinguishable from a missing route for anyone else', async () => {
        const absent = await platform.app.inject({ method: 'GET', url: '/dev/no-such-thing', remoteAddress: '203.0.113.5' });
        for (const response of [
          await outbox(PHONE, '203.0.113.5'),
          await outbox('not a phone', '203.0.113.5'),
          await outbox(PHONE, '10.0.0.7'),
          await outbox(PHONE, '127.0.0.1', { 'x-forwarded-for': '203.0.113.5' }),
          await outbox(PHONE, '127.0.0.1', { forwarded: 'for=203.0.113.5' }),
        ]) {
          assert.equal(response.statusCode, 404);
          assert.equal(response.headers['content-type'], absent.headers['content-type']);
          const body = response.json() as Record<string, unknown>;
          assert.equal(body.code, 'not_found');
          assert.ok(!response.body.includes('604218'));
        }
      });

      it('stays out of the published API description', async () => {
        const spec = (await platform.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
        assert.ok(!Object.keys(spec.paths).some((path) => path.startsWith('/dev/')));
      });

      it('applies the send limits to the wired sender', async () => {
        const phone = '+14155550199';
        for (let i = 0; i < 3; i++) await platform.services.sms.send(message(phone));
        const error = await rejectsWith(platform.services.sms.send(message(phone)), 'too_many_requests');
        assert.ok(error.retryAfter! > 0);
        assert.equal((await outbox(phone, '127.0.0.1')).json().messages.length, 3);
      });
    });

    describe('production', () => {
      let platform: TestPlatform;
      before(async () => {
        platform = await startPlatform(backend, {
          env: { IDFLOW_ENV: 'production', IDFLOW_ISSUER: 'https://id.example.com', IDFLOW_SEALING_KEYS: `k1:${randomBytes(32).toString('base64')}` },
        });
      });
      after(() => platform.close());

      it('has no outbox endpoint, even for loopback, and refuses to send without a configured sender', async () => {
        assert.equal(platform.services.smsOutbox, undefined);
        const response = await platform.app.inject({ method: 'GET', url: `/dev/sms-outbox?phone=${encodeURIComponent(PHONE)}`, remoteAddress: '127.0.0.1' });
        assert.equal(response.statusCode, 404);
        await rejectsWith(platform.services.sms.send(message(PHONE)), 'unavailable');
      });
    });

    describe('Twilio sender', () => {
      let platform: TestPlatform;
      let fake: FakeTwilio;
      before(async () => {
        fake = await startFakeTwilio();
        platform = await startPlatform(backend, {
          env: {
            IDFLOW_SMS_SENDER: 'twilio',
            IDFLOW_TWILIO_ACCOUNT_SID: fake.accountSid,
            IDFLOW_TWILIO_AUTH_TOKEN: fake.authToken,
            IDFLOW_TWILIO_MESSAGING_SERVICE_SID: fake.messagingServiceSid,
            IDFLOW_TWILIO_BASE_URL: fake.url,
            IDFLOW_SMS_ALLOWED_COUNTRIES: 'US',
          },
        });
      });
      after(async () => {
        await platform.close();
        await fake.close();
      });

      it('sends through the configured account, within the destination policy, with no outbox', async () => {
        await platform.services.sms.send(message(PHONE));
        assert.equal(fake.requests.length, 1);
        assert.deepEqual(fake.requests[0]!.form, { To: PHONE, Body: 'Your idflow code is 482913', MessagingServiceSid: fake.messagingServiceSid });
        await rejectsWith(platform.services.sms.send(message(DE_PHONE)), 'invalid_phone');
        assert.equal(fake.requests.length, 1, 'a destination outside the allowed countries never reaches the provider');
        assert.equal(platform.services.smsOutbox, undefined);
        assert.equal((await platform.app.inject({ method: 'GET', url: `/dev/sms-outbox?phone=${encodeURIComponent(PHONE)}` })).statusCode, 404);
      });
    });
  });
}
