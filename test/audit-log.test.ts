import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auditKey, checkpointRoot, type Checkpoint } from '../src/audit/checkpoint.ts';
import type { Finding } from '../src/audit/verify.ts';
import { defineFlow } from '../src/flows/engine.ts';
import { ManualClock } from '../src/kernel/clock.ts';
import { rotateSigningKey } from '../src/oauth/signing-keys.ts';
import type { Db, Queryable } from '../src/storage/db.ts';
import { EventsRepo } from '../src/storage/events-repo.ts';
import { backends, startPlatform, type TestPlatform } from './support/platform.ts';

const errand = defineFlow({ kind: 'audit_errand', initial: 'open', transitions: { open: ['done'], done: [] }, ttlSeconds: 600 });

/** A stream's entries as stored, in order. */
const entriesOf = (db: Queryable, stream: string) =>
  db.query<{ seq: number; action: string; user_id: string | null; flow_id: string | null; subject: string | null; event_id: number | null; columns: string[] | null }>(
    'select * from audit_log where stream = $1 order by seq',
    [stream],
  );

/**
 * What an attacker with the database owner's rights can do: switch the append-only
 * trigger off, change the log, switch it on again.
 */
async function asOwner(db: Db, ...statements: [string, unknown[]?][]): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('alter table audit_log disable trigger audit_log_append_only');
    for (const [sql, params] of statements) await tx.query(sql, params);
    await tx.query('alter table audit_log enable trigger audit_log_append_only');
  });
}

/** Recomputes every hash of `stream` from `fromSeq` on, as someone who knows the format would (with the database's own function). */
async function rechain(db: Db, stream: string, fromSeq: number): Promise<void> {
  const rows = await db.query<{ seq: number }>('select seq from audit_log where stream = $1 and seq >= $2 order by seq', [stream, fromSeq]);
  for (const { seq } of rows) {
    await asOwner(db, [
      `update audit_log l set prev_hash = coalesce((select hash from audit_log p where p.stream = l.stream and p.seq = l.seq - 1), decode(repeat('00', 32), 'hex'))
       where stream = $1 and seq = $2`,
      [stream, seq],
    ], [
      `update audit_log set hash = audit_hash(prev_hash, stream, seq, at, action, client_id, user_id, flow_id, subject, event_id, payload_digest, columns)
       where stream = $1 and seq = $2`,
      [stream, seq],
    ]);
  }
}

for (const backend of await backends()) {
  describe(`the audit log (${backend})`, () => {
    let platform: TestPlatform;
    const clock = new ManualClock();
    before(async () => {
      platform = await startPlatform(backend, { clock, env: { IDFLOW_AUDIT_CHECKPOINT_SECONDS: '3600' } });
    });
    after(() => platform.close());

    /**
     * A client whose stream holds nine entries of every kind (its registration, changes and
     * their events, API keys, a hand-over), and whose flow's moves and hand-over event are in
     * one of its sub-streams.
     */
    async function clientWithHistory(clientId: string): Promise<string> {
      const { services } = platform;
      await services.clients.save({ clientId, name: 'Audited', redirectUris: ['https://rp.example/cb'], scope: 'openid' });
      await services.clients.update(clientId, { name: 'Audited, renamed' });
      await services.apiKeys.create(clientId);
      const flow = await services.flows.start(errand, { clientId, data: { secret: 'flow data' } });
      await services.flows.transition(errand, flow, 'done');
      const person = await services.users.create({ email: `${clientId}@example.com` });
      await services.consents.record({ door: 'one_click', userId: person.id, clientId, shared: ['fullName'], credentialIds: [], flowId: flow.id });
      await services.clients.update(clientId, { scope: 'openid email' });
      await services.apiKeys.create(clientId);
      await services.apiKeys.create(clientId);
      return `client:${clientId}`;
    }

    const findingsIn = async (stream: string, checkpoint?: Checkpoint) => {
      const result = await platform.services.audit.verify(checkpoint);
      assert.deepEqual(result.checkpointProblems, []);
      return result.findings.filter((f) => f.stream === stream);
    };
    const named = (findings: Finding[]) => findings.map((f) => `${f.problem}@${f.seq ?? `event ${f.eventId}`}`);

    it('appends every flow move, administrative act and hand-over, in the transaction that made it, without personal data', async () => {
      const { services } = platform;
      const { db } = services;
      const stream = await clientWithHistory('acme');
      const acme = await entriesOf(db, stream);
      assert.deepEqual(
        acme.map((e) => e.action),
        ['clients.insert', 'clients.update', 'client.updated', 'api_key.created', 'consents.insert', 'clients.update', 'client.updated', 'api_key.created', 'api_key.created'],
      );
      assert.deepEqual(acme.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual(acme[1]!.columns, ['name']);
      assert.deepEqual(acme[5]!.columns, ['metadata']);
      // The flow's entries: one sub-stream of the client's, in the order they happened.
      const flowStream = (await db.query<{ stream: string }>("select stream from audit_log where client_id = 'acme' and action = 'audit_errand.created'"))[0]?.stream ?? '';
      assert.match(flowStream, /^client:acme\/\d+$/);
      const errand = await entriesOf(db, flowStream);
      assert.deepEqual(errand.map((e) => e.action), ['audit_errand.created', 'audit_errand.done', 'identity.shared']);
      assert.equal(errand[0]!.flow_id, errand[1]!.flow_id);
      assert.equal(acme[4]!.user_id, errand[2]!.user_id, 'the consent, and its event');
      assert.ok(errand[2]!.user_id && errand[2]!.flow_id && errand[2]!.event_id);

      const person = await services.users.create({ email: 'grace@example.com', phone: '+14155550123', password: 'a long enough password' });
      await rotateSigningKey(db, platform.keyring, clock, { keepPublishedSeconds: 60, activationDelaySeconds: 0 });
      const platformActs = (await entriesOf(db, 'platform')).map((e) => `${e.action} ${e.subject ?? ''}`.trim());
      assert.ok(platformActs.includes(`users.insert users:${person.id.slice(4)}`));
      assert.ok(platformActs.filter((a) => a.startsWith('signing_keys.insert')).length >= 2, 'the first key and the rotated-in one');
      assert.ok(platformActs.some((a) => a.startsWith('signing_keys.update')), 'the retired key');
      const { subscription } = await services.webhooks.subscribe('acme', { url: 'https://hooks.example/acme', eventTypes: ['identity.shared'] });
      await services.webhooks.update(subscription.id, { eventTypes: ['identity.shared', 'one_click.completed'] });
      await services.clients.delete('acme');
      assert.deepEqual(
        (await entriesOf(db, stream)).slice(9).map((e) => `${e.action} ${e.subject} ${e.columns ?? ''}`),
        [`webhook_subscriptions.insert webhook_subscriptions:${subscription.id} `, `webhook_subscriptions.update webhook_subscriptions:${subscription.id} event_types`, 'clients.delete clients:acme ', `webhook_subscriptions.delete webhook_subscriptions:${subscription.id} `],
        'subscriptions too, and a deletion, then what it took along',
      );

      await assert.rejects(
        db.transaction(async (tx) => {
          await new EventsRepo(tx).record({ type: 'audit_test.rolled_back', clientId: 'acme' }, clock.now());
          throw new Error('changed my mind');
        }),
      );
      assert.deepEqual(await db.query(`select 1 from audit_log where action = 'audit_test.rolled_back'`), [], 'nothing of a rolled-back change');
      assert.deepEqual(await db.query('select 1 from audit_pending'), [], 'nothing left waiting');

      const dump = JSON.stringify(await db.query('select * from audit_log'));
      for (const personal of ['grace@example.com', 'acme@example.com', '4155550123', 'flow data']) assert.ok(!dump.includes(personal), `${personal} is not in the log`);

      const result = await services.audit.verify();
      assert.deepEqual(result.findings, []);
      assert.ok(result.entries >= 12 && result.streams >= 2);
    });

    it('refuses to change or remove an entry, and entries that did not come through the chain', async () => {
      const { db } = platform.services;
      await clientWithHistory('locked');
      for (const [sql, params] of [
        ["update audit_log set action = 'x' where stream = $1", ['client:locked']],
        ['delete from audit_log where stream = $1', ['client:locked']],
        ['truncate audit_log', undefined],
        ["insert into audit_log (stream, seq, at, action, prev_hash, hash) values ($1, 99, now(), 'forged', '\\x00', '\\x00')", ['client:locked']],
      ] as const) {
        await assert.rejects(db.query(sql, params ? [...params] : undefined), /the audit log is append-only/, sql);
      }
      assert.equal((await entriesOf(db, 'client:locked')).length, 9);
    });

    it('names an entry whose content was changed', async () => {
      const stream = await clientWithHistory('changed');
      await asOwner(platform.services.db, ["update audit_log set columns = array['redirect_uris'] where stream = $1 and seq = 8", [stream]]);
      assert.deepEqual(named(await findingsIn(stream)), ['changed@8']);
      await asOwner(platform.services.db, ["update audit_log set action = 'api_key.revoked' where stream = $1 and seq = 3", [stream]]);
      assert.deepEqual(named(await findingsIn(stream)), ['changed@3', 'event_differs@3', 'changed@8']);
    });

    it('names the place of a removed entry, in the middle or at the end of a stream', async () => {
      const { db } = platform.services;
      const stream = await clientWithHistory('removed');
      const last = (await entriesOf(db, stream)).at(-1)!;
      await asOwner(db, ['delete from audit_log where stream = $1 and seq in (4, 9)', [stream]]);
      const found = await findingsIn(stream);
      assert.deepEqual(named(found).slice(0, 1), ['missing@4']);
      assert.ok(named(found).includes('no_entry@event ' + last.event_id), 'the last entry is missed through its event');
    });

    it('names entries that were swapped', async () => {
      const stream = await clientWithHistory('reordered');
      await asOwner(
        platform.services.db,
        ['update audit_log set seq = 100 where stream = $1 and seq = 5', [stream]],
        ['update audit_log set seq = 5 where stream = $1 and seq = 6', [stream]],
        ['update audit_log set seq = 6 where stream = $1 and seq = 100', [stream]],
      );
      assert.deepEqual(named(await findingsIn(stream)), ['broken_link@5', 'changed@5', 'broken_link@6', 'changed@6', 'broken_link@7']);
    });

    it('names a forged entry, however carefully its hash was made', async () => {
      const { db } = platform.services;
      const stream = await clientWithHistory('forged');
      // Appended with a made-up hash.
      await asOwner(db, [
        `insert into audit_log (stream, seq, at, action, client_id, subject, prev_hash, hash)
         select stream, 10, at, 'clients.delete', client_id, subject, hash, sha256('made up') from audit_log where stream = $1 and seq = 9`,
        [stream],
      ]);
      assert.deepEqual(named(await findingsIn(stream)), ['changed@10']);
      // Slipped in at position 3 with the right hash for its place; the later entries moved up one.
      const forger = await clientWithHistory('forged2');
      await asOwner(
        db,
        ['update audit_log set seq = seq + 1000 where stream = $1 and seq >= 3', [forger]],
        ['update audit_log set seq = seq - 999 where stream = $1 and seq >= 1003', [forger]],
        [
          `insert into audit_log (stream, seq, at, action, client_id, subject, columns, prev_hash, hash)
           select stream, 3, at, 'clients.update', client_id, subject, array['secret_hash'], hash,
             audit_hash(hash, stream, 3, at, 'clients.update', client_id, null, null, subject, null, null, array['secret_hash'])
           from audit_log where stream = $1 and seq = 2`,
          [forger],
        ],
      );
      const found = await findingsIn(forger);
      assert.equal(found[0]!.problem, 'broken_link');
      assert.equal(found[0]!.seq, 4);
      assert.match(found[0]!.message, /position 3 was changed or inserted/);
      // One that copies a real entry's event is named as the second to name it.
      const copier = await clientWithHistory('forged3');
      await asOwner(db, [
        `insert into audit_log (stream, seq, at, action, client_id, user_id, flow_id, event_id, payload_digest, prev_hash, hash)
         select stream, 10, at, action, client_id, user_id, flow_id, event_id, payload_digest, (select hash from audit_log where stream = $1 and seq = 9),
           audit_hash((select hash from audit_log where stream = $1 and seq = 9), stream, 10, at, action, client_id, user_id, flow_id, subject, event_id, payload_digest, columns)
         from audit_log where stream = $1 and seq = 7`,
        [copier],
      ]);
      assert.deepEqual(named(await findingsIn(copier)), ['event_named_twice@10']);
    });

    it('signs checkpoints, publishes them as events, and holds the log to them', async () => {
      const { services } = platform;
      const { db } = services;
      const stream = await clientWithHistory('held');
      const checkpoint = (await services.audit.checkpoint())!;
      const heads = await db.query<{ stream: string; seq: number }>('select stream, max(seq)::int as seq from audit_log group by stream');
      assert.equal(checkpoint.streams.length, heads.length);
      assert.equal(checkpoint.streams.find((s) => s.stream === stream)!.seq, 9);
      assert.equal(checkpoint.root, checkpointRoot(checkpoint.streams));
      assert.equal(checkpoint.kid, services.audit.publicKey.kid);
      const [event] = await db.query<{ payload: unknown; client_id: string | null }>(`select payload, client_id from events where type = 'audit.checkpoint' order by id desc limit 1`);
      assert.deepEqual(event!.payload, checkpoint, 'published as an event, as signed');
      assert.equal((await entriesOf(db, 'platform')).at(-1)!.action, 'audit.checkpoint', 'and the publication is itself in the log');

      // Genuine and held, with the platform's key or with the published one.
      assert.deepEqual(await services.audit.verify(checkpoint), { ...(await services.audit.verify()), checkpointProblems: [] });
      const published = JSON.parse(JSON.stringify(services.audit.publicKey));
      assert.deepEqual((await services.audit.verify(checkpoint, published)).checkpointProblems, []);

      // Not genuine: a head changed, a root recomputed to match, or another key's signature.
      const moved = { ...checkpoint, streams: checkpoint.streams.map((s) => (s.stream === stream ? { ...s, seq: 7 } : s)) };
      assert.deepEqual((await services.audit.verify(moved)).checkpointProblems, ['its root is not the hash of the heads it lists']);
      assert.deepEqual((await services.audit.verify({ ...moved, root: checkpointRoot(moved.streams) })).checkpointProblems, ['its signature does not verify']);
      const other = await auditKey(Buffer.alloc(32, 7));
      assert.deepEqual((await services.audit.verify(checkpoint, other.publicJwk)).checkpointProblems, [`it was signed with key ${checkpoint.kid}, not with the key given (${other.publicJwk.kid})`]);

      // History rewritten since, every hash recomputed: the chains hold, the checkpoint does not.
      await asOwner(db, ["update audit_log set columns = array['name'] where stream = $1 and seq = 8", [stream]]);
      await rechain(db, stream, 8);
      assert.deepEqual(await findingsIn(stream), [], 'the chain alone cannot tell');
      assert.deepEqual(named(await findingsIn(stream, checkpoint)), ['differs_from_checkpoint@9']);

      // Entries removed from the end, with their events: only the checkpoint can tell.
      const cut = await clientWithHistory('cut');
      const held = (await services.audit.checkpoint())!;
      await asOwner(db, ['delete from audit_log where stream = $1 and seq > 7', [cut]], ["delete from events where client_id = 'cut' and type = 'api_key.created' and id > (select max(event_id) from audit_log where stream = $1 and seq = 4)", [cut]]);
      assert.deepEqual(await findingsIn(cut), []);
      assert.deepEqual(named(await findingsIn(cut, held)), ['behind_checkpoint@9']);
    });

    it('makes a checkpoint when the interval has passed since the last one, once among nodes', async () => {
      const { services } = platform;
      const { db } = services;
      const other = await platform.anotherNode({ IDFLOW_AUDIT_CHECKPOINT_SECONDS: '3600' });
      const count = async () => (await db.query<{ n: number }>(`select count(*)::int as n from events where type = 'audit.checkpoint'`))[0]!.n;
      clock.advance(3600_000);
      const before = await count();
      const made = await Promise.all([services.audit.checkpointIfDue(), other.services.audit.checkpointIfDue()]);
      assert.equal(made.filter(Boolean).length, 1);
      assert.equal(await count(), before + 1);
      clock.advance(3599_000);
      assert.equal(await services.audit.checkpointIfDue(), undefined);
      clock.advance(1000);
      assert.ok(await services.audit.checkpointIfDue());
    });

    it('keeps every chain whole under many concurrent writers, whose transactions span streams in any order', async () => {
      const { db } = platform.services;
      const writers = 32;
      const rounds = 8;
      const streams = ['conc-a', 'conc-b', 'conc-c'];
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let r = 0; r < rounds; r++) {
            // Each transaction writes to two or three streams, in an order that differs by writer.
            const order = [streams[w % 3]!, streams[(w + 1 + (r % 2)) % 3]!, ...(w % 4 === 0 ? [undefined] : [])];
            await db.transaction(async (tx) => {
              for (const clientId of order) await new EventsRepo(tx).record({ type: 'audit_test.write', clientId, payload: { w, r } }, clock.now());
            });
          }
        }),
      );
      const expected = new Map<string, number>();
      for (let w = 0; w < writers; w++) {
        for (let r = 0; r < rounds; r++) for (const c of [streams[w % 3]!, streams[(w + 1 + (r % 2)) % 3]!]) expected.set(c, (expected.get(c) ?? 0) + 1);
      }
      for (const [clientId, n] of expected) {
        const rows = await entriesOf(db, `client:${clientId}`);
        assert.deepEqual(rows.map((e) => e.seq), Array.from({ length: n }, (_, i) => i + 1), `${clientId}: one chain, positions 1…${n}`);
      }
      for (const stream of [...streams.map((c) => `client:${c}`), 'platform']) assert.deepEqual(await findingsIn(stream), []);
    });

    it('lists entries newest first, filtered, a page at a time', async () => {
      const { audit } = platform.services;
      await clientWithHistory('listed');
      const first = await audit.list({ stream: 'client:listed' }, { limit: 5 });
      assert.deepEqual(first.entries.map((e) => e.seq), [9, 8, 7, 6, 5]);
      const rest = await audit.list({ stream: 'client:listed' }, { limit: 5, cursor: first.nextCursor });
      assert.deepEqual(rest.entries.map((e) => e.seq), [4, 3, 2, 1]);
      assert.equal(rest.nextCursor, undefined);
      const shared = await audit.list({ action: 'identity.shared', clientId: 'listed' });
      assert.equal(shared.entries.length, 1);
      assert.match(shared.entries[0]!.userId!, /^usr:/);
      assert.deepEqual((await audit.list({ userId: shared.entries[0]!.userId, action: 'users.' })).entries.map((e) => e.action), ['users.insert']);
      assert.deepEqual((await audit.list({ stream: 'client:listed', action: 'clients.' })).entries.map((e) => e.seq), [6, 2, 1]);
      assert.equal((await audit.list({ clientId: 'listed' })).entries.length, 12, 'by client: its stream and its flows\' sub-streams');
      assert.equal((await audit.list({ clientId: 'listed', until: new Date(0) })).entries.length, 0);
      await assert.rejects(audit.list({}, { cursor: 'not-a-cursor' }), { code: 'validation_failed' });
      await assert.rejects(audit.list({}, { limit: 501 }), { code: 'validation_failed' });
    });
  });
}
