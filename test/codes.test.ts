import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Codes, defineCodeKind } from '../src/codes/codes.ts';
import { defineFlow, FlowEngine } from '../src/flows/engine.ts';
import { ManualClock } from '../src/kernel/clock.ts';
import { numericCode, randomToken } from '../src/kernel/ids.ts';
import { Keyring } from '../src/kernel/sealing.ts';
import { hashSecret } from '../src/kernel/secrets.ts';
import { CodesRepo } from '../src/storage/codes-repo.ts';
import type { Db } from '../src/storage/db.ts';
import { EventsRepo } from '../src/storage/events-repo.ts';
import { FlowsRepo } from '../src/storage/flows-repo.ts';
import { platformSecret } from '../src/storage/platform-secrets.ts';
import { Sealer } from '../src/storage/sealer.ts';
import { backends, freshDb, type TestDb } from './support/platform.ts';

/** A flow of its own, so the tests see a code's flow move with it (and only then). */
const handOverFlow = defineFlow({
  kind: 'codes_test',
  initial: 'open',
  transitions: { open: ['exchanged'], exchanged: ['revoked'], revoked: [] },
  ttlSeconds: 3600,
});

const handOverCode = defineCodeKind({ purpose: 'codes_test.code', lifetimeSeconds: 60, presented: 'alone', generate: () => randomToken(32) });
const handOverToken = defineCodeKind({ purpose: 'codes_test.token', lifetimeSeconds: 900, presented: 'alone', generate: () => randomToken(32) });
const smsCode = defineCodeKind({ purpose: 'codes_test.sms', lifetimeSeconds: 300, presented: 'with_flow', maxAttempts: 3, generate: () => numericCode(6) });

const uncappedCode = defineCodeKind({ purpose: 'codes_test.counted_by_flow', lifetimeSeconds: 300, presented: 'with_flow', generate: () => numericCode(6) });

const CLIENT = 'shop.example';
const REDIRECT = 'https://shop.example.com/cb';

for (const backend of await backends()) {
  describe(`codes and hand-over tokens (${backend})`, () => {
    const clock = new ManualClock(new Date('2030-05-01T08:00:00Z'));
    let t: TestDb;
    let db: Db;
    let sealer: Sealer;
    let flows: FlowEngine;
    let codes: Codes;

    before(async () => {
      t = await freshDb(backend);
      db = t.db;
      const keyring = new Keyring([{ id: 'codes', key: randomBytes(32) }]);
      sealer = new Sealer(keyring, await platformSecret(db, keyring, 'blind_index_key'));
      flows = new FlowEngine(new FlowsRepo(db, sealer), clock, randomBytes(32));
      codes = new Codes(new CodesRepo(db), sealer, clock);
    });
    after(() => t.drop());

    const newFlow = () => flows.start(handOverFlow, { clientId: CLIENT, data: {} });
    const stateOf = async (id: string) => (await flows.find(handOverFlow, id))?.state;
    const exchangeMove = () => ({
      issue: handOverToken,
      also: ({ expiresAt }: { expiresAt: Date }) => flows.moveWith(handOverFlow, 'open', 'exchanged', { expiresAt }),
      onReuse: flows.moveWith(handOverFlow, 'exchanged', 'revoked', {}, { payload: { reason: 'code_reused' } }),
    });
    const issueCode = async (flowId: string) => (await codes.issue(handOverCode, { flowId, clientId: CLIENT, subject: 'verification-1', binding: REDIRECT })).value;

    it('exchanges a code once for a token, moving its flow in the same statement; the token reads until it expires', async () => {
      const flow = await newFlow();
      const code = await issueCode(flow.id);
      const redeemed = await codes.redeem(handOverCode, { value: code, clientId: CLIENT, binding: REDIRECT }, exchangeMove());
      assert.ok(redeemed.ok);
      assert.deepEqual(redeemed.holder, { flowId: flow.id, clientId: CLIENT, subject: 'verification-1' });
      const token = redeemed.issued!.value;
      assert.equal(redeemed.issued!.expiresAt.getTime(), clock.now().getTime() + 900_000);
      const moved = await flows.find(handOverFlow, flow.id);
      assert.equal(moved?.state, 'exchanged');
      assert.equal(moved?.expiresAt.getTime(), redeemed.issued!.expiresAt.getTime(), 'the flow lives as long as the token');
      const events = (await new EventsRepo(db).listForFlow(flow.id)).map((e) => e.type);
      assert.deepEqual(events, ['codes_test.created', 'codes_test.exchanged']);

      assert.deepEqual(await codes.read(handOverToken, token), { flowId: flow.id, clientId: CLIENT, subject: 'verification-1' });
      assert.ok(await codes.read(handOverToken, token), 'a token is read any number of times');
      assert.equal(await codes.read(handOverCode, token), undefined, 'a token is not a code');
      assert.equal(await codes.read(handOverToken, code), undefined, 'a code is not a token');
      clock.advance(900_000);
      assert.equal(await codes.read(handOverToken, token), undefined, 'an expired token reads nothing');
    });

    it('refuses a code after its lifetime, without moving its flow', async () => {
      const flow = await newFlow();
      const code = await issueCode(flow.id);
      clock.advance(60_000);
      const late = await codes.redeem(handOverCode, { value: code, clientId: CLIENT, binding: REDIRECT }, exchangeMove());
      assert.deepEqual(late, { ok: false, problem: 'expired', holder: { flowId: flow.id, clientId: CLIENT, subject: 'verification-1' } });
      assert.equal(await stateOf(flow.id), 'open');
    });

    it('does not use a code up for a wrong binding or another client, and tells another client nothing', async () => {
      const flow = await newFlow();
      const code = await issueCode(flow.id);
      const elsewhere = await codes.redeem(handOverCode, { value: code, clientId: CLIENT, binding: `${REDIRECT}/other` }, exchangeMove());
      assert.deepEqual(elsewhere, { ok: false, problem: 'binding_mismatch', holder: { flowId: flow.id, clientId: CLIENT, subject: 'verification-1' } });
      assert.deepEqual(await codes.redeem(handOverCode, { value: code, clientId: 'other.example', binding: REDIRECT }), { ok: false, problem: 'unknown' });
      assert.deepEqual(await codes.redeem(handOverCode, { value: randomToken(32), clientId: CLIENT, binding: REDIRECT }), { ok: false, problem: 'unknown' });
      assert.ok((await codes.redeem(handOverCode, { value: code, clientId: CLIENT, binding: REDIRECT }, exchangeMove())).ok, 'the code is still good');
    });

    it('revokes what a code issued when the code is presented again, and moves its flow', async () => {
      const flow = await newFlow();
      const code = await issueCode(flow.id);
      const first = await codes.redeem(handOverCode, { value: code, clientId: CLIENT, binding: REDIRECT }, exchangeMove());
      assert.ok(first.ok);
      const token = first.issued!.value;

      const stranger = await codes.redeem(handOverCode, { value: code, clientId: 'other.example', binding: REDIRECT }, exchangeMove());
      assert.deepEqual(stranger, { ok: false, problem: 'unknown' });
      assert.ok(await codes.read(handOverToken, token), "another client's try revokes nothing");

      const again = await codes.redeem(handOverCode, { value: code, clientId: CLIENT, binding: REDIRECT }, exchangeMove());
      assert.equal(again.ok, false);
      assert.equal(!again.ok && again.problem, 'reused');
      assert.equal(await codes.read(handOverToken, token), undefined, 'the token of the first exchange is revoked');
      assert.equal(await stateOf(flow.id), 'revoked');
      const events = (await new EventsRepo(db).listForFlow(flow.id)).map((e) => e.type);
      assert.deepEqual(events, ['codes_test.created', 'codes_test.exchanged', 'codes_test.revoked'], 'the revocation is recorded once');
      const third = await codes.redeem(handOverCode, { value: code, clientId: CLIENT, binding: REDIRECT }, exchangeMove());
      assert.equal(!third.ok && third.problem, 'reused');
    });

    it('lets exactly one of many racing exchanges of one code win; the losers revoke its token', async () => {
      const flow = await newFlow();
      const code = await issueCode(flow.id);
      // On PostgreSQL these run on separate connections of the pool, truly at once.
      const results = await Promise.all(Array.from({ length: 8 }, () => codes.redeem(handOverCode, { value: code, clientId: CLIENT, binding: REDIRECT }, exchangeMove())));
      const winners = results.filter((r) => r.ok);
      assert.equal(winners.length, 1);
      assert.ok(results.every((r) => r.ok || r.problem === 'reused'));
      assert.equal(await codes.read(handOverToken, winners[0]!.ok ? winners[0]!.issued!.value : ''), undefined, 'the race revokes the winner, as reuse does');
      assert.equal(await stateOf(flow.id), 'revoked');
      const [row] = await db.query<{ n: number }>("select count(*)::int as n from codes where flow_id = $1 and purpose = 'codes_test.token'", [flow.id]);
      assert.equal(row?.n, 1, 'one token was ever written');
    });

    it('limits the tries of a code typed by a person, and accepts the right one once', async () => {
      const flow = await newFlow();
      const { value } = await codes.issue(smsCode, { flowId: flow.id, clientId: CLIENT });
      const wrong = value === '000000' ? '000001' : '000000';
      assert.deepEqual(await codes.check(smsCode, flow.id, wrong), { ok: false, problem: 'wrong', attemptsLeft: 2 });
      assert.deepEqual(await codes.check(smsCode, flow.id, value), { ok: true });
      assert.deepEqual(await codes.check(smsCode, flow.id, value), { ok: false, problem: 'used', same: true });
      assert.deepEqual(await codes.check(smsCode, flow.id, wrong), { ok: false, problem: 'used', same: false });

      const other = await newFlow();
      const issued = await codes.issue(smsCode, { flowId: other.id, clientId: CLIENT });
      const miss = issued.value === '000000' ? '000001' : '000000';
      assert.deepEqual(await codes.check(smsCode, other.id, value === issued.value ? miss : value), { ok: false, problem: 'wrong', attemptsLeft: 2 }, "another flow's code is wrong here");
      assert.deepEqual(await codes.check(smsCode, other.id, miss), { ok: false, problem: 'wrong', attemptsLeft: 1 });
      assert.deepEqual(await codes.check(smsCode, other.id, miss), { ok: false, problem: 'wrong', attemptsLeft: 0 });
      assert.deepEqual(await codes.check(smsCode, other.id, issued.value), { ok: false, problem: 'attempts_exceeded' }, 'the right code after the last try is refused');

      const late = await newFlow();
      const lateCode = await codes.issue(smsCode, { flowId: late.id, clientId: CLIENT });
      clock.advance(300_000);
      assert.deepEqual(await codes.check(smsCode, late.id, lateCode.value), { ok: false, problem: 'expired', attemptsLeft: 2 }, 'a lapsed code is never used, and the try counts');
      assert.deepEqual(await codes.check(smsCode, late.id, lateCode.value), { ok: false, problem: 'expired', attemptsLeft: 1 });
      assert.deepEqual(await codes.check(smsCode, (await newFlow()).id, '123456'), { ok: false, problem: 'unknown' });
    });

    it('counts racing tries exactly: no more than the limit is ever tried, and a right code wins once', async () => {
      const flow = await newFlow();
      const { value } = await codes.issue(smsCode, { flowId: flow.id, clientId: CLIENT });
      const wrong = value === '000000' ? '000001' : '000000';
      const tries = await Promise.all(Array.from({ length: 10 }, () => codes.check(smsCode, flow.id, wrong)));
      assert.equal(tries.filter((r) => !r.ok && r.problem === 'wrong').length, 3);
      assert.equal(tries.filter((r) => !r.ok && r.problem === 'attempts_exceeded').length, 7);
      const [row] = await db.query<{ attempts: number }>('select attempts from codes where flow_id = $1', [flow.id]);
      assert.equal(row?.attempts, 3);

      const second = await newFlow();
      const code = await codes.issue(smsCode, { flowId: second.id, clientId: CLIENT });
      const rights = await Promise.all(Array.from({ length: 5 }, () => codes.check(smsCode, second.id, code.value)));
      assert.equal(rights.filter((r) => r.ok).length, 1);
      assert.ok(rights.every((r) => r.ok || r.problem === 'used'));

      // A code whose flow counts the tries (the flow engine's maxAttempts) leaves counting to it.
      const counted = await newFlow();
      const flowCounted = await codes.issue(uncappedCode, { flowId: counted.id, clientId: CLIENT });
      const miss = flowCounted.value === '000000' ? '000001' : '000000';
      for (let i = 0; i < 5; i++) assert.deepEqual(await codes.check(uncappedCode, counted.id, miss), { ok: false, problem: 'wrong', attemptsLeft: Infinity });
      assert.deepEqual(await codes.check(uncappedCode, counted.id, flowCounted.value), { ok: true });
    });

    it("writes a code in its flow's own insert", async () => {
      let value = '';
      const flow = await flows.start(handOverFlow, {
        clientId: CLIENT,
        data: {},
        also: (flowId) => {
          const issued = codes.issueWith(smsCode, { flowId });
          value = issued.value;
          return issued.also;
        },
      });
      const [row] = await db.query<{ client_id: string; max_attempts: number }>('select client_id, max_attempts from codes where flow_id = $1', [flow.id]);
      assert.deepEqual(row, { client_id: CLIENT, max_attempts: 3 });
      assert.deepEqual(await codes.check(smsCode, flow.id, value), { ok: true });
    });

    it('stores nothing that could be presented: values only as keyed hashes, gone with their flow', async () => {
      const flow = await newFlow();
      const code = await issueCode(flow.id);
      const token = await codes.redeem(handOverCode, { value: code, clientId: CLIENT, binding: REDIRECT }, exchangeMove());
      assert.ok(token.ok);
      const sms = await codes.issue(smsCode, { flowId: flow.id, clientId: CLIENT });
      const rows = await db.query<Record<string, unknown>>('select * from codes where flow_id = $1', [flow.id]);
      assert.equal(rows.length, 3);
      const texts = rows.flatMap((r) => Object.values(r).map((v) => (v instanceof Date ? v.toISOString() : String(v))));
      for (const value of [code, token.issued!.value, sms.value, REDIRECT]) {
        const unkeyed = [hashSecret(value), createHash('sha256').update(value).digest('hex'), createHash('sha256').update(value).digest('base64url')];
        for (const text of texts) {
          assert.ok(!text.includes(value), `a value is stored in clear: ${text}`);
          for (const hash of unkeyed) assert.ok(!text.includes(hash.replace(/^sha256:/, '')), `a value is stored as an unkeyed hash: ${text}`);
        }
      }
      // The same rows under another deployment's key: nothing there is found.
      const keyring = new Keyring([{ id: 'elsewhere', key: randomBytes(32) }]);
      const elsewhere = new Codes(new CodesRepo(db), new Sealer(keyring, randomBytes(32)), clock);
      assert.equal(await elsewhere.read(handOverToken, token.issued!.value), undefined);
      assert.ok(await codes.read(handOverToken, token.issued!.value));

      await new FlowsRepo(db, sealer).delete(flow.id);
      const [left] = await db.query<{ n: number }>('select count(*)::int as n from codes where flow_id = $1', [flow.id]);
      assert.equal(left?.n, 0, 'a flow takes its codes and tokens with it');
    });
  });
}
