import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/kernel/clock.ts';
import { AppError } from '../src/kernel/errors.ts';
import { newUserId, numericCode, userUuid } from '../src/kernel/ids.ts';
import { constantTimeEqual, hashSecret, secretMatches } from '../src/kernel/secrets.ts';
import { blindIndex, deriveKey, Keyring } from '../src/kernel/sealing.ts';
import { parseEmail, parseLogin, parsePhone, tryParsePhone } from '../src/identity/contact.ts';
import { PasswordHasher, passwordProblem } from '../src/identity/passwords.ts';
import { PasswordSignIn } from '../src/identity/password-sign-in.ts';
import { limitCatalogue } from '../src/limits/catalogue.ts';
import { Limits } from '../src/limits/limits.ts';
import { databaseLimitStore } from '../src/limits/stores.ts';
import { EventsRepo } from '../src/storage/events-repo.ts';
import { platformSecret } from '../src/storage/platform-secrets.ts';
import { Sealer } from '../src/storage/sealer.ts';
import { UsersRepo } from '../src/storage/users-repo.ts';
import { freshDb, type TestDb } from './support/platform.ts';

const key = (id: string) => ({ id, key: randomBytes(32) });
const OWASP = { memoryKiB: 19456, iterations: 2, parallelism: 1 };

/** Asserts `fn` throws an AppError with the given code; returns it for further checks. */
function throwsCode(fn: () => unknown, code: string): AppError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof AppError, `expected an AppError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

async function rejectsCode(promise: Promise<unknown>, code: string): Promise<AppError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof AppError, `expected an AppError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

describe('Keyring (sealing)', () => {
  it('seals and opens a value; the envelope names the key and hides the value', () => {
    const keyring = new Keyring([key('k1')]);
    const sealed = keyring.seal('ada@example.com', 'users.email');
    assert.match(sealed, /^v1\.k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.ok(!sealed.includes('ada'));
    assert.equal(keyring.open(sealed, 'users.email'), 'ada@example.com');
    // A fresh IV each time: equal values do not give equal envelopes.
    assert.notEqual(keyring.seal('ada@example.com', 'users.email'), sealed);
  });

  it('round-trips buffers, JSON and the empty string', () => {
    const keyring = new Keyring([key('k1')]);
    const bytes = randomBytes(48);
    assert.deepEqual(keyring.openBuffer(keyring.seal(bytes, 'b'), 'b'), bytes);
    const doc = { d: 'secret-part', nested: [1, 'two', null] };
    assert.deepEqual(keyring.openJson(keyring.sealJson(doc, 'j'), 'j'), doc);
    assert.equal(keyring.open(keyring.seal('', 'e'), 'e'), '');
  });

  it('binds a sealed value to its context: it does not open under another one', () => {
    const keyring = new Keyring([key('k1')]);
    const sealed = keyring.seal('+14155552671', 'users.phone');
    assert.throws(() => keyring.open(sealed, 'users.email'));
    assert.throws(() => keyring.open(sealed));
    assert.equal(keyring.open(sealed, 'users.phone'), '+14155552671');
  });

  it('refuses a tampered envelope', () => {
    const keyring = new Keyring([key('k1')]);
    const sealed = keyring.seal('hello world', 'c');
    const [v, kid, iv, body] = sealed.split('.') as [string, string, string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[0]! ^= 1;
    assert.throws(() => keyring.open([v, kid, iv, flipped.toString('base64url')].join('.'), 'c'));
    const otherIv = randomBytes(12).toString('base64url');
    assert.throws(() => keyring.open([v, kid, otherIv, body].join('.'), 'c'));
  });

  it('rotates: what an old key sealed still opens once a new key is put first, and is stale', () => {
    const oldKey = key('old');
    const before = new Keyring([oldKey]);
    const sealedBefore = before.seal('Ada Lovelace', 'users.name');
    assert.equal(before.isStale(sealedBefore), false);

    const rotated = new Keyring([key('new'), oldKey]);
    assert.equal(rotated.active.id, 'new');
    assert.equal(rotated.open(sealedBefore, 'users.name'), 'Ada Lovelace');
    assert.equal(rotated.isStale(sealedBefore), true);
    const resealed = rotated.seal(rotated.open(sealedBefore, 'users.name'), 'users.name');
    assert.match(resealed, /^v1\.new\./);
    assert.equal(rotated.isStale(resealed), false);

    // Once the old key leaves the keyring, its values no longer open.
    const withoutOld = new Keyring([rotated.active]);
    assert.throws(() => withoutOld.open(sealedBefore, 'users.name'), /old is not in the keyring/);
    assert.equal(withoutOld.open(resealed, 'users.name'), 'Ada Lovelace');
  });

  it('parses kid:base64 lists, active key first, and reports bad ones', () => {
    const a = randomBytes(32).toString('base64');
    const b = randomBytes(32).toString('base64');
    const keyring = Keyring.parse(`a1:${a}, b2:${b}`);
    assert.equal(keyring.active.id, 'a1');
    assert.equal(Keyring.parse(`b2:${b}`).open(Keyring.parse(`b2:${b},a1:${a}`).seal('x'), ''), 'x');
    assert.throws(() => Keyring.parse(''), /empty/);
    assert.throws(() => Keyring.parse('just-a-key'), /kid:base64/);
    assert.throws(() => Keyring.parse(`:${a}`), /kid:base64/);
    assert.throws(() => Keyring.parse(`k1:${randomBytes(16).toString('base64')}`), /32 bytes/);
    assert.throws(() => Keyring.parse(`bad id!:${a}`), /sealing key id/);
    const generated = Keyring.generateText('gen');
    assert.match(generated, /^gen:[A-Za-z0-9+/=]+$/);
    assert.equal(Keyring.parse(generated).active.key.length, 32);
  });

  it('refuses text that is not an envelope', () => {
    const keyring = new Keyring([key('k1')]);
    for (const bad of ['', 'plain text', 'v2.k1.aaa.bbb', 'v1.k1.aaa', 'v1..aaa.bbb']) {
      assert.throws(() => keyring.open(bad), /not a sealed value/, bad);
    }
    assert.throws(() => keyring.open('v1.nokey.aaaa.bbbb'), /nokey is not in the keyring/);
  });

  it('derives purpose-bound keys and keyed blind indexes', () => {
    const root = randomBytes(32);
    assert.deepEqual(deriveKey(root, 'a'), deriveKey(root, 'a'));
    assert.notDeepEqual(deriveKey(root, 'a'), deriveKey(root, 'b'));
    assert.equal(deriveKey(root, 'a').length, 32);
    const k1 = randomBytes(32);
    assert.equal(blindIndex(k1, 'email:ada@example.com'), blindIndex(k1, 'email:ada@example.com'));
    assert.notEqual(blindIndex(k1, 'email:ada@example.com'), blindIndex(randomBytes(32), 'email:ada@example.com'));
    assert.ok(!blindIndex(k1, 'email:ada@example.com').includes('ada'));
  });
});

describe('secrets and ids', () => {
  it('compares in constant time and answers correctly', () => {
    assert.equal(constantTimeEqual('abc', 'abc'), true);
    assert.equal(constantTimeEqual('abc', 'abd'), false);
    assert.equal(constantTimeEqual('abc', 'abcd'), false);
    assert.equal(constantTimeEqual('', ''), true);
    assert.equal(constantTimeEqual('', 'a'), false);
    assert.equal(constantTimeEqual('é', 'e\u0301'), false);
  });

  it('hashes secrets deterministically, without the secret, and matches only the right one', () => {
    const secret = 'q3dZ8wQe1kq_secret-value';
    const stored = hashSecret(secret);
    assert.match(stored, /^sha256:[A-Za-z0-9_-]{43}$/);
    assert.equal(hashSecret(secret), stored);
    assert.ok(!stored.includes(secret));
    assert.equal(secretMatches(secret, stored), true);
    assert.equal(secretMatches(`${secret}x`, stored), false);
    assert.equal(secretMatches('', stored), false);
    assert.equal(secretMatches(secret, 'garbage'), false);
  });

  it('makes 6-digit codes that are uniform over every position', () => {
    const n = 20_000;
    const counts = Array.from({ length: 6 }, () => new Array<number>(10).fill(0));
    let belowHundredThousand = 0;
    for (let i = 0; i < n; i += 1) {
      const code = numericCode(6);
      assert.match(code, /^\d{6}$/);
      if (code.startsWith('0')) belowHundredThousand += 1;
      for (let p = 0; p < 6; p += 1) counts[p]![Number(code[p])]! += 1;
    }
    // Chi-square with 9 degrees of freedom; 33.7 is the p = 0.0001 critical value.
    for (const [position, digits] of counts.entries()) {
      const expected = n / 10;
      const chi2 = digits.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
      assert.ok(chi2 < 33.7, `position ${position} is not uniform: ${digits.join(',')} (chi2 ${chi2.toFixed(1)})`);
    }
    // Leading zeros are kept (padding), about one code in ten.
    assert.ok(belowHundredThousand > n * 0.08 && belowHundredThousand < n * 0.12, String(belowHundredThousand));
    assert.match(numericCode(8), /^\d{8}$/);
  });

  it('writes user ids as usr:<uuid> and reads them back strictly', () => {
    const id = newUserId();
    assert.match(id, /^usr:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(`usr:${userUuid(id)}`, id);
    assert.equal(userUuid(id.slice(4)), undefined);
    assert.equal(userUuid(`${id}x`), undefined);
    assert.equal(userUuid("usr:' or 1=1 --"), undefined);
  });
});

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher(OWASP);
  let stored: string;

  before(async () => {
    stored = await hasher.hash('correct horse battery staple');
  });

  it('makes argon2id hashes with m=19456, t=2, p=1 recorded in the PHC string', () => {
    assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    assert.ok(!stored.includes('correct horse'));
  });

  it('salts each hash', async () => {
    assert.notEqual(await hasher.hash('correct horse battery staple'), stored);
  });

  it('checks the right password and refuses a wrong one', async () => {
    assert.deepEqual(await hasher.check(stored, 'correct horse battery staple'), { ok: true, needsRehash: false });
    assert.deepEqual(await hasher.check(stored, 'correct horse battery stapl'), { ok: false, needsRehash: false });
    assert.deepEqual(await hasher.check(stored, ''), { ok: false, needsRehash: false });
  });

  it('asks for a rehash once the configured parameters are raised', async () => {
    for (const raised of [
      { ...OWASP, iterations: 3 },
      { ...OWASP, memoryKiB: 32768 },
      { ...OWASP, parallelism: 2 },
    ]) {
      const stronger = new PasswordHasher(raised);
      assert.deepEqual(await stronger.check(stored, 'correct horse battery staple'), { ok: true, needsRehash: true }, JSON.stringify(raised));
      // A wrong password never triggers a rehash.
      assert.deepEqual(await stronger.check(stored, 'wrong'), { ok: false, needsRehash: false });
    }
    // A hash stronger than configured is left alone.
    const strongHash = await new PasswordHasher({ ...OWASP, iterations: 3 }).hash('pw-longer-than-8');
    assert.deepEqual(await hasher.check(strongHash, 'pw-longer-than-8'), { ok: true, needsRehash: false });
  });

  it('verifies nothing against a malformed hash', async () => {
    for (const bad of ['', 'not-a-hash', '$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB', stored.slice(0, -5), hashSecret('correct horse battery staple')]) {
      assert.deepEqual(await hasher.check(bad, 'correct horse battery staple'), { ok: false, needsRehash: false }, bad);
    }
  });

  it('spends the work of a real check for unknown accounts', async () => {
    await hasher.checkAgainstNothing('anything at all');
  });

  it('judges length only (NIST 800-63B)', () => {
    assert.match(passwordProblem('short')!, /at least 8/);
    assert.equal(passwordProblem('12345678'), undefined);
    assert.equal(passwordProblem('aaaaaaaa'), undefined);
    assert.match(passwordProblem('x'.repeat(257))!, /at most 256/);
  });
});

describe('contact parsing', () => {
  it('keeps valid international numbers in E.164', () => {
    assert.equal(parsePhone('+14155552671'), '+14155552671');
    assert.equal(parsePhone('+1 415-555-2671'), '+14155552671');
    assert.equal(parsePhone(' +44 20 7946 0958 '), '+442079460958');
    assert.equal(parsePhone('+33 6 12 34 56 78'), '+33612345678');
  });

  it('rejects invalid numbers with invalid_phone, naming the field', () => {
    for (const bad of ['+1234', '+1 415 555', '+999 123456789', 'phone', '', '+']) {
      const error = throwsCode(() => parsePhone(bad), 'invalid_phone');
      assert.equal(error.status, 400);
      assert.deepEqual(error.fields.map((f) => f.field), ['/phone']);
    }
    assert.deepEqual(throwsCode(() => parsePhone('+1', 'mobile'), 'invalid_phone').fields.map((f) => f.field), ['/mobile']);
  });

  it('rejects national numbers without + rather than guess a country', () => {
    for (const national of ['4155552671', '14155552671', '020 7946 0958', '06 12 34 56 78']) {
      throwsCode(() => parsePhone(national), 'invalid_phone');
      assert.equal(tryParsePhone(national), undefined);
    }
    assert.equal(tryParsePhone('+14155552671'), '+14155552671');
  });

  it('normalises email addresses and rejects what is not one', () => {
    assert.equal(parseEmail('  Ada.Lovelace@Example.COM '), 'ada.lovelace@example.com');
    for (const bad of ['ada', 'ada@', '@example.com', 'ada@example', 'ada @example.com', 'a@b@example.com', `${'a'.repeat(65)}@example.com`, `a@${'b'.repeat(250)}.com`]) {
      const error = throwsCode(() => parseEmail(bad), 'invalid_email');
      assert.deepEqual(error.fields.map((f) => f.field), ['/email']);
    }
  });

  it('tells an email login from a phone login by its shape', () => {
    assert.deepEqual(parseLogin(' Ada@Example.com'), { email: 'ada@example.com' });
    assert.deepEqual(parseLogin('+1 415 555 2671'), { phone: '+14155552671' });
    assert.equal(parseLogin('4155552671'), undefined);
    assert.equal(parseLogin('not@valid'), undefined);
  });
});

describe('PasswordSignIn', () => {
  const PASSWORD = 'correct horse battery staple';
  let t: TestDb;
  let users: UsersRepo;
  let storedHash: string;
  let userId: string;

  before(async () => {
    t = await freshDb('pglite');
    const keyring = new Keyring([key('test')]);
    users = new UsersRepo(t.db, new Sealer(keyring, await platformSecret(t.db, keyring, 'blind_index_key')));
    storedHash = await new PasswordHasher(OWASP).hash(PASSWORD);
    userId = (await users.insert({ id: newUserId(), email: 'ada@example.com', phone: '+14155552671', passwordHash: storedHash })).id;
  });
  after(() => t.drop());

  const limits = { accountIpFailures: 5, accountFailures: 3, ipFailures: 100, windowSeconds: 60 };
  const signInWith = (hasher: PasswordHasher, clock = new ManualClock()) =>
    new PasswordSignIn(users, hasher, new Limits(databaseLimitStore(t.db, clock), randomBytes(32)), limitCatalogue({
      signInThrottle: limits,
      sms: { limits: { phonePer10Min: 1, phonePerDay: 1, clientPerHour: 1 } },
      verificationStarts: { perIpPerHour: 1, perClientPerHour: 1 },
    }).signIn, new EventsRepo(t.db), clock);

  it('signs in by email or phone and leaves a current hash alone', async () => {
    const signIn = signInWith(new PasswordHasher(OWASP));
    assert.equal((await signIn.verify('ADA@example.com', PASSWORD, '10.0.0.1')).id, userId);
    assert.equal((await signIn.verify('+1 415 555 2671', PASSWORD, '10.0.0.1')).id, userId);
    assert.equal((await users.findById(userId))!.passwordHash, storedHash);
  });

  it('fails a wrong password and an unknown account alike', async () => {
    const signIn = signInWith(new PasswordHasher(OWASP));
    const wrong = await rejectsCode(signIn.verify('ada@example.com', 'not the password', '10.0.0.2'), 'invalid_credentials');
    const unknown = await rejectsCode(signIn.verify('nobody@example.com', PASSWORD, '10.0.0.2'), 'invalid_credentials');
    const garbage = await rejectsCode(signIn.verify('4155552671', PASSWORD, '10.0.0.2'), 'invalid_credentials');
    assert.equal(wrong.publicMessage, unknown.publicMessage);
    assert.equal(wrong.publicMessage, garbage.publicMessage);
  });

  it('replaces a hash made with weaker parameters at the next successful sign-in', async () => {
    const stronger = new PasswordHasher({ ...OWASP, iterations: 3 });
    const signIn = signInWith(stronger);
    await rejectsCode(signIn.verify('ada@example.com', 'wrong password', '10.0.0.3'), 'invalid_credentials');
    assert.equal((await users.findById(userId))!.passwordHash, storedHash, 'a failed sign-in rehashes nothing');

    await signIn.verify('ada@example.com', PASSWORD, '10.0.0.3');
    const rehashed = (await users.findById(userId))!.passwordHash!;
    assert.notEqual(rehashed, storedHash);
    assert.match(rehashed, /^\$argon2id\$v=19\$m=19456,t=3,p=1\$/);
    assert.deepEqual(await stronger.check(rehashed, PASSWORD), { ok: true, needsRehash: false });

    await signIn.verify('ada@example.com', PASSWORD, '10.0.0.3');
    assert.equal((await users.findById(userId))!.passwordHash, rehashed, 'a current hash is not replaced again');
  });

  it('locks an account after too many failures, even for the right password, and only that account', async () => {
    const clock = new ManualClock();
    const signIn = signInWith(new PasswordHasher({ ...OWASP, iterations: 3 }), clock);
    for (let i = 0; i < limits.accountFailures; i += 1) {
      await rejectsCode(signIn.verify('ada@example.com', `wrong ${i}`, `10.1.0.${i}`), 'invalid_credentials');
    }
    const locked = await rejectsCode(signIn.verify('ada@example.com', PASSWORD, '10.1.1.1'), 'too_many_requests');
    assert.equal(locked.retryAfter, limits.windowSeconds);
    await rejectsCode(signIn.verify('nobody@example.com', 'x', '10.1.1.1'), 'invalid_credentials');
    clock.advance(limits.windowSeconds * 1000);
    assert.equal((await signIn.verify('ada@example.com', PASSWORD, '10.1.1.1')).id, userId);
  });
});
