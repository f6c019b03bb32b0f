import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { newUserId, userUuid } from '../src/kernel/ids.ts';
import { hashSecret } from '../src/kernel/secrets.ts';
import { Keyring } from '../src/kernel/sealing.ts';
import { PasswordHasher } from '../src/identity/passwords.ts';
import { UserService } from '../src/identity/users.ts';
import { ClientsRepo, type ClientMetadata } from '../src/storage/clients-repo.ts';
import { openDb, type Db } from '../src/storage/db.ts';
import { migrate } from '../src/storage/migrate.ts';
import { OidcPayloadsRepo } from '../src/storage/oidc-payloads-repo.ts';
import { platformSecret } from '../src/storage/platform-secrets.ts';
import { Sealer } from '../src/storage/sealer.ts';
import { SigningKeysRepo } from '../src/storage/signing-keys-repo.ts';
import { UsersRepo } from '../src/storage/users-repo.ts';
import { backends, freshDb, POSTGRES_URL, type TestDb } from './support/platform.ts';

/**
 * One contract for every storage backend: what the repositories promise, checked on the
 * embedded database and on PostgreSQL alike, including what must NOT be in the tables.
 */
const migrations = async () => (await readdir(new URL('../src/storage/migrations/', import.meta.url))).filter((f) => f.endsWith('.sql')).sort();

/** Every value of every column of `rows`, as text, so a test can say what is not there. */
function columnTexts(rows: Record<string, unknown>[]): string[] {
  return rows.flatMap((row) => Object.values(row).map((v) => (v instanceof Date ? v.toISOString() : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))));
}

function assertAbsent(texts: string[], secrets: string[]): void {
  for (const secret of secrets) {
    const hex = Buffer.from(secret, 'utf8').toString('hex');
    for (const text of texts) {
      assert.ok(!text.toLowerCase().includes(secret.toLowerCase()), `"${secret}" is stored in clear: ${text}`);
      assert.ok(!text.toLowerCase().includes(hex), `"${secret}" is stored hex-encoded: ${text}`);
    }
  }
}

async function signingJwk(alg: 'ES256' | 'EdDSA', kid: string) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' } as Record<string, unknown> & { d: string };
}

for (const backend of await backends()) {
  describe(`storage contract (${backend})`, () => {
    let t: TestDb;
    let db: Db;
    let keyring: Keyring;
    let sealer: Sealer;

    before(async () => {
      t = await freshDb(backend);
      db = t.db;
      keyring = new Keyring([{ id: 'contract', key: randomBytes(32) }]);
      sealer = new Sealer(keyring, await platformSecret(db, keyring, 'blind_index_key'));
    });
    after(() => t.drop());

    describe('migrations', () => {
      it('ran every migration once, and running again applies nothing', async () => {
        const MIGRATIONS = await migrations();
        assert.ok(MIGRATIONS.length > 0);
        const recorded = await db.query<{ name: string }>('select name from schema_migrations order by name');
        assert.deepEqual(recorded.map((r) => r.name), MIGRATIONS);
        assert.deepEqual(await migrate(db), []);
        assert.deepEqual(await migrate(db), []);
        assert.equal((await db.query('select name from schema_migrations')).length, MIGRATIONS.length);
      });

      if (backend === 'postgres') {
        it('applies each migration once when two nodes migrate a new database at the same time', async () => {
          const MIGRATIONS = await migrations();
          const schema = `t_${randomBytes(6).toString('hex')}`;
          // Two pools, as two idflow nodes would have; the schema is made before they race.
          const first = await openDb({ databaseUrl: POSTGRES_URL, schema, poolSize: 2 });
          const second = await openDb({ databaseUrl: POSTGRES_URL, schema, poolSize: 2 });
          try {
            const [a, b] = await Promise.all([migrate(first), migrate(second)]);
            assert.deepEqual([...a, ...b].sort(), MIGRATIONS, `first applied ${a.join(',')}; second applied ${b.join(',')}`);
            assert.ok(a.length === 0 || b.length === 0, 'one node applies everything, the other nothing');
            const recorded = await first.query<{ name: string }>('select name from schema_migrations order by name');
            assert.deepEqual(recorded.map((r) => r.name), MIGRATIONS);
            assert.deepEqual(await migrate(second), []);
          } finally {
            await first.query(`drop schema ${schema} cascade`).catch(() => {});
            await Promise.all([first.close(), second.close()]);
          }
        });
      }
    });

    describe('UsersRepo', () => {
      let users: UsersRepo;
      const email = 'ada.lovelace@example.com';
      const phone = '+14155552671';
      let id: string;

      before(() => {
        users = new UsersRepo(db, sealer);
      });

      it('inserts a user and finds it by id, by email and by phone', async () => {
        id = newUserId();
        const inserted = await users.insert({ id, email, phone, passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' });
        assert.equal(inserted.id, id);
        assert.equal(inserted.email, email);
        assert.equal(inserted.phone, phone);
        assert.equal(inserted.passwordHash, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA');
        assert.ok(inserted.createdAt instanceof Date);
        assert.deepEqual(await users.findById(id), inserted);
        assert.deepEqual(await users.findByEmail(email), inserted);
        assert.deepEqual(await users.findByPhone(phone), inserted);
      });

      it('finds nothing for unknown or malformed keys', async () => {
        assert.equal(await users.findById(newUserId()), undefined);
        assert.equal(await users.findById('usr:not-a-uuid'), undefined);
        assert.equal(await users.findById(userUuid(id)!), undefined, 'a bare uuid is not a user id');
        assert.equal(await users.findByEmail('grace@example.com'), undefined);
        assert.equal(await users.findByPhone('+442079460958'), undefined);
      });

      it('keeps email and phone sealed in the users table, found only through blind indexes', async () => {
        const [row] = await db.query<Record<string, unknown>>('select * from users where id = $1', [userUuid(id)]);
        assert.ok(row);
        assertAbsent(columnTexts([row]), [email, 'ada.lovelace', phone, phone.slice(1), '4155552671']);
        assert.match(String(row.email_sealed), /^v1\.contract\./);
        assert.match(String(row.phone_sealed), /^v1\.contract\./);
        assert.equal(row.email_index, sealer.index('email', email));
        assert.equal(row.phone_index, sealer.index('phone', phone));
        // The sealed value is bound to its column: the phone's envelope does not open as an email.
        assert.throws(() => keyring.open(String(row.phone_sealed), 'users.email'));
      });

      it('lets one email or phone belong to one user only', async () => {
        await assert.rejects(users.insert({ id: newUserId(), email }));
        await assert.rejects(users.insert({ id: newUserId(), phone }));
        await assert.rejects(users.insert({ id, email: 'other@example.com' }), 'ids are unique too');
      });

      it('updates email, phone and password, moving the blind indexes with them', async () => {
        const newEmail = 'countess@example.org';
        const newPhone = '+442079460958';
        const updated = await users.update(id, { email: newEmail, phone: newPhone, passwordHash: 'new-hash' });
        assert.equal(updated?.email, newEmail);
        assert.equal(updated?.phone, newPhone);
        assert.equal(updated?.passwordHash, 'new-hash');
        assert.equal(await users.findByEmail(email), undefined);
        assert.equal(await users.findByPhone(phone), undefined);
        assert.equal((await users.findByEmail(newEmail))?.id, id);
        assert.equal((await users.findByPhone(newPhone))?.id, id);

        const onlyPassword = await users.update(id, { passwordHash: 'newer-hash' });
        assert.equal(onlyPassword?.email, newEmail, 'fields not named are kept');
        assert.equal(onlyPassword?.passwordHash, 'newer-hash');
        assert.deepEqual(await users.update(id, {}), onlyPassword);
        assert.equal(await users.update(newUserId(), { passwordHash: 'x' }), undefined);

        const [row] = await db.query<Record<string, unknown>>('select * from users where id = $1', [userUuid(id)]);
        assertAbsent(columnTexts([row!]), [newEmail, newPhone, '2079460958']);
      });

      it('keeps users without email, phone or password', async () => {
        const phoneOnly = await users.insert({ id: newUserId(), phone: '+33612345678' });
        assert.equal(phoneOnly.email, undefined);
        assert.equal(phoneOnly.passwordHash, undefined);
        assert.equal((await users.findByPhone('+33612345678'))?.id, phoneOnly.id);
        assert.equal(await users.count(), 2);
      });
    });

    describe('ClientsRepo', () => {
      let clients: ClientsRepo;
      const metadata = (scope: string, extra: Record<string, unknown> = {}): ClientMetadata => ({
        redirect_uris: ['https://a.example/cb'],
        post_logout_redirect_uris: [],
        grant_types: ['authorization_code', 'refresh_token'],
        scope,
        token_endpoint_auth_method: 'client_secret_basic',
        ...extra,
      });

      before(() => {
        clients = new ClientsRepo(db);
      });

      it('creates a client and reads its metadata back as stored', async () => {
        const meta = metadata('openid email', { access_token_ttl: 600, one_click: { title: 'Pay with "Shop"', nested: [1, null] } });
        const created = await clients.upsert({ clientId: 'c-one', name: 'Shop', metadata: meta, secretHash: hashSecret('s1') });
        assert.equal(created.clientId, 'c-one');
        assert.equal(created.name, 'Shop');
        assert.deepEqual(created.metadata, meta);
        assert.equal(created.secretHash, hashSecret('s1'));
        assert.deepEqual(await clients.findById('c-one'), created);
        assert.equal(await clients.findById('nope'), undefined);
      });

      it('keeps the secret hash when an update gives none, replaces it when one is given, removes it on null', async () => {
        const renamed = await clients.upsert({ clientId: 'c-one', name: 'Shop 2', metadata: metadata('openid') });
        assert.equal(renamed.name, 'Shop 2');
        assert.deepEqual(renamed.metadata, metadata('openid'), 'metadata is replaced, not merged');
        assert.equal(renamed.secretHash, hashSecret('s1'));
        assert.ok(renamed.updatedAt.getTime() >= renamed.createdAt.getTime());
        const rekeyed = await clients.upsert({ clientId: 'c-one', name: 'Shop 2', metadata: metadata('openid'), secretHash: hashSecret('s2') });
        assert.equal(rekeyed.secretHash, hashSecret('s2'));
        assert.equal((await clients.list()).length, 1, 'an update does not add a row');
        const keyless = await clients.upsert({ clientId: 'c-one', name: 'Shop 2', metadata: metadata('openid'), secretHash: null });
        assert.equal(keyless.secretHash, undefined, 'null removes the secret');
        const back = await clients.upsert({ clientId: 'c-one', name: 'Shop 2', metadata: metadata('openid'), secretHash: hashSecret('s3') });
        assert.equal(back.secretHash, hashSecret('s3'));
      });

      it('keeps public clients without a secret', async () => {
        const pub = await clients.upsert({ clientId: 'c-two', name: 'App', metadata: metadata('openid phone accounts:read', { token_endpoint_auth_method: 'none' }) });
        assert.equal(pub.secretHash, undefined);
      });

      it('lists clients in creation order and knows every scope any of them may ask for', async () => {
        await clients.upsert({ clientId: 'c-three', name: 'No scopes', metadata: metadata('') });
        assert.deepEqual((await clients.list()).map((c) => c.clientId), ['c-one', 'c-two', 'c-three']);
        assert.deepEqual(await clients.allScopes(), ['accounts:read', 'openid', 'phone']);
      });

      it('deletes a client once', async () => {
        assert.equal(await clients.delete('c-two'), true);
        assert.equal(await clients.delete('c-two'), false);
        assert.equal(await clients.findById('c-two'), undefined);
        assert.deepEqual((await clients.list()).map((c) => c.clientId), ['c-one', 'c-three']);
        assert.deepEqual(await clients.allScopes(), ['openid']);
      });
    });

    describe('OidcPayloadsRepo', () => {
      let payloads: OidcPayloadsRepo;
      const T = new Date('2030-01-01T00:00:00.000Z');
      const at = (seconds: number) => new Date(T.getTime() + seconds * 1000);
      const rowTexts = async () => columnTexts(await db.query('select * from oidc_payloads'));

      before(async () => {
        payloads = new OidcPayloadsRepo(db, sealer);
        await db.query('delete from oidc_payloads');
        for (const grant of ['g1', 'g2', 'g3']) assert.equal(await payloads.upsert('Grant', grant, { jti: grant, accountId: 'usr:x' }, at(3600)), true);
      });

      it('stores a payload and finds it while it is valid', async () => {
        const payload = { jti: 'at1', grantId: 'g1', kind: 'AccessToken', scope: 'openid', nested: { a: [1, 2] } };
        assert.equal(await payloads.upsert('AccessToken', 'at1', payload, at(60)), true);
        const found = await payloads.find('AccessToken', 'at1', T);
        assert.deepEqual(found, { payload, consumed_at: null });
        assert.equal(await payloads.find('RefreshToken', 'at1', T), undefined, 'models are kept apart');
        assert.equal(await payloads.find('AccessToken', 'at2', T), undefined);
      });

      it('keeps ids, lookups and payloads out of the table in clear', async () => {
        await payloads.upsert('Grant', 'grant-id-value', { jti: 'grant-id-value', accountId: 'usr:hidden-account' }, at(600));
        await payloads.upsert('AccessToken', 'access-token-value', { grantId: 'grant-id-value', scope: 'hidden-scope' }, at(600));
        await payloads.upsert('Session', 'session-cookie-value', { uid: 'session-uid-value', accountId: 'usr:hidden-account' }, at(600));
        await payloads.upsert('Interaction', 'interaction-uid', { params: { login_hint: 'ada@example.com' } }, at(600));
        assertAbsent(await rowTexts(), ['access-token-value', 'grant-id-value', 'hidden-scope', 'session-cookie-value', 'session-uid-value', 'usr:hidden-account', 'interaction-uid', 'ada@example.com']);
        await payloads.revokeGrant('grant-id-value', T);
      });

      it('opens a payload only in the row it was sealed for', async () => {
        await payloads.upsert('PushedAuthorizationRequest', 'par1', { scope: 'openid' }, at(60));
        await db.query("update oidc_payloads set sealed = (select sealed from oidc_payloads where model = 'Interaction') where model = 'PushedAuthorizationRequest'");
        await assert.rejects(payloads.find('PushedAuthorizationRequest', 'par1', T));
        await payloads.destroy('PushedAuthorizationRequest', 'par1');
      });

      it('replaces a payload on upsert', async () => {
        await payloads.upsert('AccessToken', 'at1', { jti: 'at1', grantId: 'g1', scope: 'openid email' }, at(120));
        assert.equal((await payloads.find('AccessToken', 'at1', at(90)))?.payload.scope, 'openid email');
        const [{ n }] = (await db.query<{ n: number }>("select count(*)::int as n from oidc_payloads where model = 'AccessToken'")) as [{ n: number }];
        assert.equal(n, 1);
      });

      it('hides a row once it expires, but findIgnoringExpiry still says when', async () => {
        assert.ok(await payloads.find('AccessToken', 'at1', at(119)));
        assert.equal(await payloads.find('AccessToken', 'at1', at(120)), undefined, 'expired at the instant of expiry');
        assert.equal(await payloads.find('AccessToken', 'at1', at(3600)), undefined);
        const row = await payloads.findIgnoringExpiry('AccessToken', 'at1');
        assert.equal(row?.expires_at?.getTime(), at(120).getTime());
        assert.equal(row?.payload.jti, 'at1');
        assert.equal(await payloads.findIgnoringExpiry('AccessToken', 'none'), undefined);
      });

      it('never expires a row stored without an expiry', async () => {
        await payloads.upsert('Client', 'dyn', { client_id: 'dyn' }, null);
        assert.ok(await payloads.find('Client', 'dyn', at(10 * 365 * 86400)));
        assert.equal((await payloads.findIgnoringExpiry('Client', 'dyn'))?.expires_at, null);
      });

      it('finds by uid and by user code, within expiry', async () => {
        await payloads.upsert('Session', 's1', { uid: 'uid-1', accountId: 'usr:x' }, at(600));
        await payloads.upsert('DeviceCode', 'd1', { userCode: 'ABCD-EFGH', grantId: 'g3' }, at(600));
        assert.equal((await payloads.findBy('Session', 'uid', 'uid-1', T))?.payload.accountId, 'usr:x');
        assert.equal((await payloads.findBy('DeviceCode', 'user_code', 'ABCD-EFGH', T))?.payload.grantId, 'g3');
        assert.equal(await payloads.findBy('Session', 'uid', 'uid-2', T), undefined);
        assert.equal(await payloads.findBy('Session', 'uid', 'uid-1', at(600)), undefined);
        assertAbsent(await rowTexts(), ['uid-1', 'ABCD-EFGH']);
      });

      it('finds a code with its grant in one read, the grant only while it is valid', async () => {
        await payloads.upsert('AuthorizationCode', 'code0', { grantId: 'g2' }, at(60));
        assert.deepEqual((await payloads.findWithGrant('AuthorizationCode', 'code0', T))?.grant, { jti: 'g2', accountId: 'usr:x' });
        const late = await payloads.findWithGrant('RefreshToken', 'none', T);
        assert.equal(late, undefined);
      });

      it('consumes a row once; the second attempt learns the grant', async () => {
        await payloads.upsert('AuthorizationCode', 'code1', { grantId: 'g1' }, at(60));
        assert.deepEqual(await payloads.consume('AuthorizationCode', 'code1', at(5)), { consumed: true, grantId: undefined });
        assert.deepEqual(await payloads.consume('AuthorizationCode', 'code1', at(6)), { consumed: false, grantId: 'g1' });
        const found = await payloads.find('AuthorizationCode', 'code1', at(10));
        assert.equal(found?.consumed_at?.getTime(), at(5).getTime());
        assert.equal(found?.payload.grantId, 'g1');
      });

      it('destroys one row', async () => {
        await payloads.upsert('Interaction', 'i1', { uid: 'i1' }, at(60));
        await payloads.destroy('Interaction', 'i1');
        assert.equal(await payloads.findIgnoringExpiry('Interaction', 'i1'), undefined);
      });

      it('writes and finds a row of a grant only while the grant exists', async () => {
        assert.equal(await payloads.upsert('AccessToken', 'orphan', { grantId: 'never-stored' }, at(60)), false);
        assert.equal(await payloads.findIgnoringExpiry('AccessToken', 'orphan'), undefined);
      });

      it('revokes one model of a grant, as oidc-provider asks model by model', async () => {
        await payloads.upsert('RefreshToken', 'rt1', { grantId: 'g1' }, at(3600));
        await payloads.revokeByGrantId('AccessToken', 'g1');
        assert.equal(await payloads.findIgnoringExpiry('AccessToken', 'at1'), undefined);
        assert.ok(await payloads.find('RefreshToken', 'rt1', T));
        assert.ok(await payloads.find('Grant', 'g1', T));
      });

      it('revokes a grant: everything it issued goes, and nothing of it is written or found again', async () => {
        await payloads.upsert('AccessToken', 'at1', { grantId: 'g1' }, at(3600));
        await payloads.upsert('AccessToken', 'at-other', { grantId: 'g2' }, at(3600));
        await payloads.revokeGrant('g1', T);
        for (const [model, id] of [['AccessToken', 'at1'], ['RefreshToken', 'rt1'], ['AuthorizationCode', 'code1'], ['Grant', 'g1']] as const) {
          assert.equal(await payloads.findIgnoringExpiry(model, id), undefined, `${model} ${id} survived revocation`);
        }
        assert.equal(await payloads.upsert('RefreshToken', 'rt-late', { grantId: 'g1' }, at(3600)), false, 'a token written after the revocation is refused');
        assert.equal(await payloads.upsert('Grant', 'g1', { jti: 'g1', accountId: 'usr:x' }, at(3600)), false, 'a revoked grant is not saved back');
        assert.equal(await payloads.find('Grant', 'g1', T), undefined);
        assert.ok(await payloads.find('AccessToken', 'at-other', T));
        assert.ok(await payloads.find('DeviceCode', 'd1', T));
      });

      it('never finds a row whose grant went while it was being written', async () => {
        // The write checked the grant an instant before the revocation, whose delete then did not see it.
        await payloads.upsert('Grant', 'g4', { jti: 'g4' }, at(3600));
        await payloads.upsert('RefreshToken', 'rt-raced', { grantId: 'g4' }, at(3600));
        await db.query("update oidc_payloads set revoked_at = $1 where model = 'Grant' and id = (select grant_id from oidc_payloads where model = 'RefreshToken')", [T]);
        assert.equal(await payloads.find('RefreshToken', 'rt-raced', T), undefined);
        assert.equal(await payloads.findWithGrant('RefreshToken', 'rt-raced', T), undefined);
        assert.equal(await payloads.findIgnoringExpiry('RefreshToken', 'rt-raced'), undefined);
      });

      it('purges only expired rows, tombstones included, and says how many went', async () => {
        await db.query('delete from oidc_payloads');
        await payloads.upsert('Grant', 'p', { jti: 'p' }, at(1));
        await payloads.upsert('Grant', 'gone', { jti: 'gone' }, at(-1));
        await payloads.revokeGrant('gone', at(-2));
        await payloads.upsert('AccessToken', 'old1', { grantId: 'p' }, at(-60));
        await payloads.upsert('AccessToken', 'old2', { grantId: 'p' }, at(-1));
        await payloads.upsert('Session', 'edge', {}, T);
        await payloads.upsert('AccessToken', 'fresh', { grantId: 'p' }, at(1));
        await payloads.upsert('Client', 'forever', {}, null);
        assert.equal(await payloads.purgeExpired(T), 4);
        assert.ok(await payloads.find('AccessToken', 'fresh', T));
        assert.ok(await payloads.find('Client', 'forever', T));
        assert.deepEqual((await db.query<{ model: string }>('select model from oidc_payloads order by model')).map((r) => r.model), ['AccessToken', 'Client', 'Grant']);
        assert.equal(await payloads.purgeExpired(T), 0);
      });
    });

    describe('SigningKeysRepo', () => {
      let keys: SigningKeysRepo;
      const T = new Date('2030-06-01T00:00:00.000Z');
      const at = (seconds: number) => new Date(T.getTime() + seconds * 1000);
      let first: Awaited<ReturnType<typeof signingJwk>>;
      let second: Awaited<ReturnType<typeof signingJwk>>;

      before(async () => {
        keys = new SigningKeysRepo(db, keyring);
        await db.query('delete from signing_keys');
        first = await signingJwk('ES256', 'kid-first');
        second = await signingJwk('ES256', 'kid-second');
      });

      it('stores the private JWK sealed, and opens it again', async () => {
        await keys.insert('kid-first', 'ES256', first);
        const [row] = await db.query<{ private_jwk: string }>('select private_jwk from signing_keys where kid = $1', ['kid-first']);
        assert.match(row!.private_jwk, /^v1\.contract\./);
        assert.ok(!row!.private_jwk.includes(first.d), 'the private "d" value is in clear');
        assert.ok(!row!.private_jwk.includes('"d"'));
        const [published] = await keys.published(T);
        assert.deepEqual(published?.privateJwk, first);
        assert.equal(published?.retiredAt, undefined);
      });

      it('binds each sealed key to its kid', async () => {
        await keys.insert('kid-moved', 'ES256', await signingJwk('ES256', 'kid-moved'));
        await db.query("update signing_keys set private_jwk = (select private_jwk from signing_keys where kid = 'kid-first') where kid = 'kid-moved'");
        await assert.rejects(keys.published(T));
        await db.query("delete from signing_keys where kid = 'kid-moved'");
      });

      it('publishes active keys first, then retired ones until their publish_until', async () => {
        assert.equal(await keys.retireActive('ES256', T, at(3600)), 1);
        await keys.insert('kid-second', 'ES256', second);
        await keys.insert('kid-ed', 'EdDSA', await signingJwk('EdDSA', 'kid-ed'));
        const during = await keys.published(at(60));
        assert.deepEqual(during.map((k) => k.kid).slice(2), ['kid-first'], 'the retired key comes last');
        assert.deepEqual(new Set(during.slice(0, 2).map((k) => k.kid)), new Set(['kid-second', 'kid-ed']));
        const retired = during.find((k) => k.kid === 'kid-first')!;
        assert.equal(retired.retiredAt?.getTime(), T.getTime());
        assert.equal(retired.publishUntil?.getTime(), at(3600).getTime());

        assert.deepEqual((await keys.published(at(3599))).map((k) => k.kid).includes('kid-first'), true);
        const afterwards = await keys.published(at(3600));
        assert.deepEqual(new Set(afterwards.map((k) => k.kid)), new Set(['kid-second', 'kid-ed']));
      });

      it('retires only the active keys of the named algorithm; newest first within a group', async () => {
        const third = await signingJwk('ES256', 'kid-third');
        assert.equal(await keys.retireActive('ES256', at(100), at(7200)), 1);
        await keys.insert('kid-third', 'ES256', third);
        const order = (await keys.published(at(200))).map((k) => k.kid);
        assert.deepEqual(new Set(order.slice(0, 2)), new Set(['kid-third', 'kid-ed']));
        assert.deepEqual(order.slice(2), ['kid-second', 'kid-first'], 'retired keys, newest first');
        assert.equal(await keys.retireActive('ES256', at(300), at(400)), 1);
        assert.equal(await keys.retireActive('ES256', at(300), at(400)), 0, 'nothing left to retire');
      });
    });

    describe('platform secrets', () => {
      it('are made once and come back identical', async () => {
        const a = await platformSecret(db, keyring, 'contract_secret');
        const b = await platformSecret(db, keyring, 'contract_secret');
        assert.equal(a.length, 32);
        assert.deepEqual(a, b);
        assert.equal((await platformSecret(db, keyring, 'contract_secret_64', 64)).length, 64);
        assert.notDeepEqual(await platformSecret(db, keyring, 'other_secret'), a);
      });

      it('agree when several nodes ask for a new one at once', async () => {
        const all = await Promise.all(Array.from({ length: 5 }, () => platformSecret(db, keyring, 'raced_secret')));
        for (const s of all) assert.deepEqual(s, all[0]);
      });

      it('are stored sealed', async () => {
        const secret = await platformSecret(db, keyring, 'contract_secret');
        const rows = await db.query<Record<string, unknown>>("select * from platform_secrets where name = 'contract_secret'");
        assertAbsent(columnTexts(rows), [secret.toString('base64'), secret.toString('base64url')]);
        assert.ok(!columnTexts(rows).some((t) => t.includes(secret.toString('hex'))));
        // Without the sealing key they were made with, they do not open.
        await assert.rejects(platformSecret(db, new Keyring([{ id: 'contract', key: randomBytes(32) }]), 'contract_secret'));
      });
    });

    describe('a database dump', () => {
      it('shows nothing personal', async () => {
        const service = new UserService(new UsersRepo(db, sealer), new PasswordHasher({ memoryKiB: 19456, iterations: 2, parallelism: 1 }));
        const password = 'a long and personal passphrase';
        const user = await service.create({ email: ' Grace.Hopper@Navy.example ', phone: '+1 (202) 555-0143', password });
        assert.equal(user.email, 'grace.hopper@navy.example');
        assert.equal(user.phone, '+12025550143');
        const personal = ['grace.hopper@navy.example', 'grace.hopper', 'navy.example', '+12025550143', '2025550143', password];

        const users = await db.query<{ line: string }>('select u::text as line from users u');
        assert.ok(users.length >= 1);
        assertAbsent(users.map((r) => r.line), personal);

        // And nowhere else either: every table of the schema, as text.
        const tables = await db.query<{ table_name: string }>(
          "select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'",
        );
        assert.ok(tables.some((t) => t.table_name === 'users'));
        for (const { table_name } of tables) {
          const lines = await db.query<{ line: string }>(`select t::text as line from "${table_name}" t`);
          assertAbsent(lines.map((r) => r.line), personal);
        }
        assert.equal((await service.create({ phone: '+33 6 12 34 56 79' })).phone, '+33612345679');
      });
    });
  });
}
