import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { exportJWK, generateKeyPair } from 'jose';
import { AppError } from '../src/kernel/errors.ts';
import { secretMatches } from '../src/kernel/secrets.ts';
import { Keyring } from '../src/kernel/sealing.ts';
import { openDb } from '../src/storage/db.ts';
import { openPlatform } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config/index.ts';
import { createLogger } from '../src/kernel/logger.ts';
import { applyImport, importFile } from '../src/provisioning/import-file.ts';
import { backends, POSTGRES_URL, startPlatform, type TestPlatform } from './support/platform.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/idflow.mjs');
const migrations = async () => (await readdir(join(ROOT, 'src/storage/migrations'))).filter((f) => f.endsWith('.sql')).sort();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Environment of every spawned command: a clean one, so nothing from the caller's shell
 * (DATABASE_URL, IDFLOW_*) leaks in.
 */
const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' });

/** Runs `idflow …` as a user would, on the Node this test runs on (24). */
async function idflow(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Result> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [status] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { status, stdout, stderr };
}

/** Parses the single JSON document a `--json` command prints. */
function json(result: Result): any {
  assert.equal(result.status, 0, `exit ${result.status}: ${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one line of JSON expected, got: ${result.stdout}`);
  return JSON.parse(lines[0]!);
}

function assertNoStackTrace(text: string): void {
  assert.ok(!/\n\s+at .+:\d+/.test(text), `a stack trace was printed:\n${text}`);
}

/** A fresh PostgreSQL database, as an operator would point DATABASE_URL at. */
async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `idflow_cli_${randomBytes(6).toString('hex')}`;
  const adminUrl = new URL(POSTGRES_URL);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl.toString() });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

interface Target {
  name: 'pglite' | 'postgres';
  env: Record<string, string>;
  /** PostgreSQL only: a direct look at the tables, to check what the commands did. */
  sql?: (text: string, params?: unknown[]) => Promise<Record<string, any>[]>;
  cleanup(): Promise<void>;
}

async function pgliteTarget(): Promise<Target> {
  // One data folder for the whole file: the first open of a new one costs seconds.
  const dir = await mkdtemp(join(tmpdir(), 'idflow-cli-'));
  return { name: 'pglite', env: { IDFLOW_DATA_DIR: dir }, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function postgresTarget(): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'idflow-cli-pg-'));
  const database = await createDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  return {
    name: 'postgres',
    env: { DATABASE_URL: database.url, IDFLOW_SEALING_KEYS: Keyring.generateText('cli'), IDFLOW_DATA_DIR: dir },
    sql: async (text, params) => (await client.query(text, params)).rows,
    async cleanup() {
      await client.end();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const targets: Array<() => Promise<Target>> = [pgliteTarget];
if ((await backends()).includes('postgres')) targets.push(postgresTarget);

for (const makeTarget of targets) {
  describe(`idflow commands (${makeTarget === pgliteTarget ? 'embedded PGlite' : 'PostgreSQL via DATABASE_URL'})`, () => {
    let target: Target;
    let confidential: Record<string, any>;
    const run = (...args: string[]) => idflow(args, target.env);

    before(async () => {
      target = await makeTarget();
    });
    after(() => target.cleanup());

    it('migrate applies every migration to a new database, then nothing', async () => {
      const MIGRATIONS = await migrations();
      const first = await run('migrate');
      assert.equal(first.status, 0, first.stderr);
      assert.equal(first.stdout, `applied: ${MIGRATIONS.join(', ')}\n`);
      const second = await run('migrate');
      assert.equal(second.status, 0, second.stderr);
      assert.equal(second.stdout, 'the schema is up to date\n');
      if (target.sql) {
        const rows = await target.sql('select name from schema_migrations order by name');
        assert.deepEqual(rows.map((r) => r.name), MIGRATIONS);
      }
    });

    it('client create prints the new client, with its secret once', async () => {
      confidential = json(
        await run('client', 'create', '--name', 'X', '--redirect-uri', 'https://a.example/cb', '--grant-types', 'authorization_code,refresh_token', '--scope', 'openid email', '--json'),
      );
      assert.equal(typeof confidential.client_id, 'string');
      assert.ok(confidential.client_id.length >= 16);
      assert.match(confidential.client_secret, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(confidential.name, 'X');
      assert.deepEqual(confidential.redirect_uris, ['https://a.example/cb']);
      assert.deepEqual(confidential.grant_types, ['authorization_code', 'refresh_token']);
      assert.equal(confidential.scope, 'openid email');
      assert.equal(confidential.token_endpoint_auth_method, 'client_secret_basic');
      if (target.sql) {
        const [row] = await target.sql('select secret_hash from clients where client_id = $1', [confidential.client_id]);
        assert.ok(row && secretMatches(confidential.client_secret, row.secret_hash), 'only the hash of the shown secret is stored');
      }
    });

    it('client create --public makes a client without a secret', async () => {
      const app = json(await run('client', 'create', '--name', 'Mobile', '--client-id', 'mobile-app', '--redirect-uri', 'com.example.app:/cb', '--public', '--json'));
      assert.equal(app.client_id, 'mobile-app');
      assert.equal(app.client_secret, undefined);
      assert.equal(app.token_endpoint_auth_method, 'none');
      assert.deepEqual(app.grant_types, ['authorization_code', 'refresh_token']);
    });

    it('client create refuses a bad redirect URI with a clear message', async () => {
      const result = await run('client', 'create', '--name', 'Bad', '--redirect-uri', 'http://a.example/cb', '--redirect-uri', 'not a uri', '--json');
      assert.equal(result.status, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /idflow: The client is not valid/);
      assert.match(result.stderr, /\/redirect_uris\/0: must use https/);
      assert.match(result.stderr, /\/redirect_uris\/1: must be an absolute URI/);
      assertNoStackTrace(result.stderr);
    });

    it('client list shows the clients, without secrets', async () => {
      const list = json(await run('client', 'list', '--json')) as Record<string, any>[];
      assert.deepEqual(list.map((c) => c.client_id).sort(), [confidential.client_id, 'mobile-app'].sort());
      assert.ok(list.every((c) => !('client_secret' in c) && !('secret_hash' in c)));
      assert.equal(list.find((c) => c.client_id === 'mobile-app')?.name, 'Mobile');
    });

    it('client delete removes the client', async () => {
      const result = await run('client', 'delete', 'mobile-app');
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, 'deleted client mobile-app\n');
      // On PostgreSQL a look at the table is enough; the embedded database asks the command again.
      const remaining = target.sql
        ? (await target.sql('select client_id from clients')).map((r) => r.client_id)
        : (json(await run('client', 'list', '--json')) as Record<string, any>[]).map((c) => c.client_id);
      assert.deepEqual(remaining, [confidential.client_id]);
    });

    it('client create registers a private_key_jwt client from a JWK Set file, public keys only', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const keysDir = await mkdtemp(join(tmpdir(), 'idflow-cli-keys-'));
      after(() => rm(keysDir, { recursive: true, force: true }));
      const jwksFile = join(keysDir, 'signed-keys.json');
      await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] }));
      const signed = ['--name', 'Signed', '--grant-types', 'client_credentials', '--scope', 'inventory:read', '--token-endpoint-auth-method', 'private_key_jwt'];
      const created = json(await run('client', 'create', ...signed, '--client-id', 'signed', '--jwks', jwksFile, '--json'));
      assert.equal(created.token_endpoint_auth_method, 'private_key_jwt');
      assert.equal(created.client_secret, undefined, 'a client with keys gets no secret');
      assert.equal(created.jwks.keys[0].kid, 'k1');

      const remote = json(await run('client', 'create', ...signed, '--client-id', 'signed-remote', '--jwks-uri', 'https://keys.example/jwks.json', '--json'));
      assert.equal(remote.jwks_uri, 'https://keys.example/jwks.json');

      const leakyFile = join(keysDir, 'leaky-keys.json');
      await writeFile(leakyFile, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
      const leaky = await run('client', 'create', ...signed, '--client-id', 'leaky', '--jwks', leakyFile, '--json');
      assert.equal(leaky.status, 1);
      assert.equal(leaky.stdout, '');
      assert.match(leaky.stderr, /\/jwks\/keys\/0: holds private key material/);
      const unreadable = await run('client', 'create', ...signed, '--jwks', join(keysDir, 'missing.json'));
      assert.equal(unreadable.status, 1);
      assert.match(unreadable.stderr, /--jwks .*missing\.json cannot be read as JSON/);
      assertNoStackTrace(leaky.stderr + unreadable.stderr);
    });

    it('client update changes what it names, keeps the rest and the secret, and refuses what create refuses', async () => {
      const id = confidential.client_id;
      const hashOf = async () => (target.sql ? (await target.sql('select secret_hash from clients where client_id = $1', [id]))[0]!.secret_hash : undefined);
      const hash = await hashOf();
      const scoped = json(await run('client', 'update', id, '--scope', 'openid email phone', '--access-token-ttl', '600', '--json'));
      assert.equal(scoped.scope, 'openid email phone');
      assert.equal(scoped.access_token_ttl, 600);
      assert.equal(scoped.name, 'X');
      assert.deepEqual(scoped.redirect_uris, ['https://a.example/cb'], 'what is not named is kept');
      assert.deepEqual(scoped.grant_types, ['authorization_code', 'refresh_token']);
      assert.equal(scoped.client_secret, undefined, 'no new secret');
      assert.equal(await hashOf(), hash);

      const brand = json(
        await run('client', 'update', id, '--unset', 'access-token-ttl', '--integration', 'hosted', '--default-redirect-url', 'https://a.example/verified', '--title', 'Verify', '--display-name', 'Shop', '--birth-date-format', 'unix_ms', '--web-kyc', '--json'),
      );
      assert.equal(brand.access_token_ttl, undefined);
      assert.deepEqual(brand.one_click, {
        integration: 'hosted',
        environment: 'sandbox',
        default_redirect_url: 'https://a.example/verified',
        title: 'Verify',
        display_name: 'Shop',
        send_sms: false,
        birth_date_format: 'unix_ms',
      });
      assert.deepEqual(brand.web_kyc, { enabled: true, provider: 'sandbox' });
      const switched = json(await run('client', 'update', id, '--integration', 'semi_hosted', '--environment', 'production', '--no-web-kyc', '--json'));
      assert.deepEqual([switched.one_click.integration, switched.one_click.environment, switched.one_click.title, switched.one_click.birth_date_format], ['semi_hosted', 'production', 'Verify', 'unix_ms']);
      assert.deepEqual(switched.web_kyc, { enabled: false, provider: 'sandbox' });

      const refusals: Array<[string[], RegExp]> = [
        [['--redirect-uri', 'http://a.example/cb'], /\/redirect_uris\/0: must use https/],
        [['--unset', 'redirect-uri'], /\/redirect_uris: authorization_code needs at least one redirect URI/],
        [['--public', '--grant-types', 'client_credentials'], /\/grant_types: a public client has no secret/],
        [['--web-kyc', '--public'], /\/web_kyc: needs a confidential client/],
        [['--integration', 'fully_hosted'], /\/integration: must be one of hosted, semi_hosted, non_hosted/],
        [['--birth-date-format', 'dd/mm/yyyy'], /\/one_click\/birth_date_format: must be one of iso, unix_ms/],
        [['--default-credential-requests', '[{"type":"nope"}]'], /\/one_click\/default_credential_requests/],
        [['--name', ''], /\/name: is required/],
        [['--unset', 'secret'], /--unset secret: use one of/],
      ];
      for (const [args, message] of refusals) {
        const refused = await run('client', 'update', id, ...args);
        assert.equal(refused.status, 1, `${args.join(' ')}: ${refused.stdout}`);
        assert.match(refused.stderr, message);
        assertNoStackTrace(refused.stderr);
      }
      const after = (json(await run('client', 'list', '--json')) as Record<string, any>[]).find((c) => c.client_id === id)!;
      assert.deepEqual(after, { ...switched, client_id: id }, 'a refused update changes nothing');

      // Public and back: the old secret is gone for good, a new one is shown once.
      const madePublic = json(await run('client', 'update', id, '--public', '--json'));
      assert.equal(madePublic.token_endpoint_auth_method, 'none');
      const confidentialAgain = json(await run('client', 'update', id, '--no-public', '--json'));
      assert.equal(confidentialAgain.token_endpoint_auth_method, 'client_secret_basic');
      assert.match(confidentialAgain.client_secret, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(confidentialAgain.client_secret, confidential.client_secret);

      const unknown = await run('client', 'update', 'no-such-client', '--scope', 'openid');
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /No client no-such-client/);
      assert.equal((await run('client', 'update')).status, 2);
    });

    it('user create prints the new user id', async () => {
      const user = json(await run('user', 'create', '--email', 'Ada@Example.com', '--password', 'correct horse battery staple', '--json'));
      assert.match(user.user_id, /^usr:/);
      assert.match(user.user_id.slice(4), UUID);
      assert.equal(user.email, 'ada@example.com');
      assert.equal(user.password, undefined);
      if (target.sql) {
        const rows = await target.sql('select u::text as line from users u');
        assert.equal(rows.length, 1);
        assert.ok(!rows[0]!.line.includes('ada@example.com'), 'the email is sealed');
        assert.equal(rows[0]!.line.split(',')[0], `(${user.user_id.slice(4)}`);
      }
    });

    it('user create refuses an invalid phone number with a message', async () => {
      const result = await run('user', 'create', '--phone', '12345', '--json');
      assert.equal(result.status, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /idflow: The phone number is not a valid international number/);
      assert.match(result.stderr, /\/phone: must be a valid phone number in international format/);
      assertNoStackTrace(result.stderr);
    });

    it('keys rotate makes a new signing key active and prints its kid', async () => {
      const result = await run('keys', 'rotate');
      assert.equal(result.status, 0, result.stderr);
      const match = /^new signing key ([A-Za-z0-9_-]{16}) /.exec(result.stdout);
      assert.ok(match, result.stdout);
      assert.match(result.stdout, /\b1 previous key\(s\)/);
      if (target.sql) {
        const rows = await target.sql('select kid, retired_at, publish_until from signing_keys order by created_at');
        assert.equal(rows.length, 2);
        assert.equal(rows[1]!.kid, match[1]);
        assert.equal(rows[1]!.retired_at, null);
        assert.ok(rows[0]!.retired_at instanceof Date, 'the previous key is retired');
        assert.ok(rows[0]!.publish_until > new Date() && rows[0]!.publish_until > rows[0]!.retired_at, 'and stays published a while');
      }
    });

    it('audit verify holds the log to a kept checkpoint, and names a removed entry with exit status 4', async () => {
      const files = await mkdtemp(join(tmpdir(), 'idflow-audit-'));
      try {
        const key = json(await run('audit', 'key'));
        assert.deepEqual([key.kty, key.crv, key.alg], ['OKP', 'Ed25519', 'EdDSA']);
        const checkpoint = json(await run('audit', 'checkpoint'));
        assert.equal(checkpoint.kid, key.kid);
        assert.ok(checkpoint.streams.some((s: { stream: string; seq: number }) => s.stream === 'platform' && s.seq >= 2), 'the commands above were logged');
        await writeFile(join(files, 'key.json'), JSON.stringify(key));
        await writeFile(join(files, 'cp.json'), JSON.stringify(checkpoint));
        const verify = () => run('audit', 'verify', '--checkpoint', join(files, 'cp.json'), '--key', join(files, 'key.json'));

        const intact = await verify();
        assert.equal(intact.status, 0, intact.stderr);
        assert.match(intact.stdout, new RegExp(`^the audit log is intact: \\d+ entries in \\d+ streams, against the checkpoint of ${checkpoint.at}\n$`));

        // As the database owner: the append-only trigger off, an entry gone.
        const removeSecondPlatformEntry = [
          'alter table audit_log disable trigger audit_log_append_only',
          "delete from audit_log where stream = 'platform' and seq = 2",
          'alter table audit_log enable trigger audit_log_append_only',
        ];
        if (target.sql) {
          for (const sql of removeSecondPlatformEntry) await target.sql(sql);
        } else {
          const db = await openDb({ dataDir: join(target.env.IDFLOW_DATA_DIR!, 'pg') });
          for (const sql of removeSecondPlatformEntry) await db.query(sql);
          await db.close();
        }
        const tampered = await verify();
        assert.equal(tampered.status, 4, tampered.stderr);
        assert.match(tampered.stdout, /^platform position 2: missing: position 2 is missing: removed$/m);
        assert.match(tampered.stdout, /^the audit log was tampered with: \d+ finding\(s\) in \d+ entries of \d+ streams, against the checkpoint of /m);
        assertNoStackTrace(tampered.stdout + tampered.stderr);

        const unreadable = await run('audit', 'verify', '--checkpoint', join(files, 'nowhere.json'));
        assert.equal(unreadable.status, 1);
        assert.match(unreadable.stderr, /^idflow: --checkpoint .*nowhere\.json cannot be read as JSON/);
      } finally {
        await rm(files, { recursive: true, force: true });
      }
    });

    it('consents list tells an operator every hand-over, by person (id, email or phone) or by client, never a value', async () => {
      // What the doors recorded, written in process on the same database as the commands use.
      const services = await openPlatform(loadConfig({ ...baseEnv(), ...target.env }), createLogger('silent'));
      let lin: string;
      let flowId: string;
      try {
        lin = (await services.users.create({ email: 'lin@example.com', phone: '+14155550177' })).id;
        await services.clients.save({ clientId: 'consent-shop', name: 'Consent Shop', redirectUris: ['https://shop.example/cb'], scope: 'openid email' });
        flowId = randomUUID();
        await services.consents.record({ door: 'oidc', userId: lin, clientId: 'consent-shop', shared: ['sub', 'email', 'email_verified'] });
        await services.consents.record({ door: 'one_click', userId: lin, clientId: 'consent-shop', shared: ['phone', 'fullName'], flowId });
        await services.consents.record({ door: 'web_kyc', clientId: 'consent-shop', shared: ['documentNumber', 'documentFront'], flowId: randomUUID(), verificationId: flowId });
      } finally {
        await services.limits.close();
        await services.db.close();
      }

      const byEmail = await run('consents', 'list', '--user', 'lin@example.com');
      assert.equal(byEmail.status, 0, byEmail.stderr);
      const lines = byEmail.stdout.trim().split('\n').map((l) => l.split('\t'));
      assert.deepEqual(
        lines.map(([, door, client, user, shared]) => [door, client, user, shared]),
        [
          ['one_click', 'consent-shop', lin, 'phone,fullName'],
          ['oidc', 'consent-shop', lin, 'sub,email,email_verified'],
        ],
      );
      assert.equal(lines[0]![5], `flow:${flowId}`);
      assert.ok(lines.every(([at]) => !Number.isNaN(Date.parse(at!))));
      assert.equal((await run('consents', 'list', '--user', '+1 415 555 0177')).stdout, byEmail.stdout, 'the phone number names the same person');
      assert.equal((await run('consents', 'list', '--user', lin)).stdout, byEmail.stdout, 'and so does the user id');

      const byClient = json(await run('consents', 'list', '--client', 'consent-shop', '--json'));
      assert.deepEqual(byClient.map((c: { door: string }) => c.door).sort(), ['oidc', 'one_click', 'web_kyc']);
      const kyc = byClient.find((c: { door: string }) => c.door === 'web_kyc');
      assert.equal(kyc.user_id, null, 'a Web KYC person without an account');
      assert.equal(kyc.verification_id, flowId);
      assert.equal(kyc.client_name, 'Consent Shop');
      assert.deepEqual(kyc.shared, ['documentNumber', 'documentFront']);
      assert.ok(!JSON.stringify(byClient).includes('lin@example.com'));

      const unknown = await run('consents', 'list', '--user', 'nobody@example.com');
      assert.equal(unknown.status, 1);
      assert.equal(unknown.stderr, 'idflow: No user is named nobody@example.com\n');
      const unnamed = await run('consents', 'list');
      assert.equal(unnamed.status, 2);
      assert.match(unnamed.stderr, /usage: idflow consents list/);
    });
  });
}

describe('idflow usage', () => {
  it('an unknown command exits 2 with the usage', async () => {
    const result = await idflow(['frobnicate'], { IDFLOW_DATA_DIR: join(tmpdir(), 'idflow-never-created') });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command "frobnicate"/);
    assert.match(result.stderr, /Usage:\n\s+idflow start/);
    assert.match(result.stderr, /idflow client create --name NAME/);
    assert.equal(result.stdout, '');
  });
});

describe('idflow start', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'idflow-start-'));
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts the server and waits until /readyz answers 200; returns what it printed so far. */
  async function start(port: number, args: string[] = []) {
    const issuer = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [BIN, 'start', ...args], {
      cwd: ROOT,
      env: { ...baseEnv(), PORT: String(port), HOST: '127.0.0.1', IDFLOW_ISSUER: issuer, IDFLOW_DATA_DIR: dir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = { stdout: '', stderr: '' };
    child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) assert.fail(`idflow start exited ${child.exitCode}:\n${output.stdout}\n${output.stderr}`);
      const status = await fetch(`${issuer}/readyz`).then((r) => r.status, () => 0);
      if (status === 200) break;
      if (Date.now() > deadline) assert.fail(`idflow start was not ready in time:\n${output.stdout}\n${output.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { issuer, output, exited, process: child };
  }

  /** SIGTERM, as a process manager stops it; it must close cleanly within 10 s. */
  async function stop(server: Awaited<ReturnType<typeof start>>) {
    const started = Date.now();
    server.process.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, 10_000, 'timeout').unref());
    const outcome = await Promise.race([server.exited, timeout]);
    assert.notEqual(outcome, 'timeout', `did not exit within 10 s of SIGTERM:\n${server.output.stdout}`);
    const [code, signal] = outcome as [number | null, NodeJS.Signals | null];
    assert.equal(signal, null, 'it exits by itself, not killed by the signal');
    assert.equal(code, 0, server.output.stderr);
    assert.ok(Date.now() - started < 10_000);
  }

  it('serves OIDC on first start, prints the demo, and closes gracefully on SIGTERM', async () => {
    const server = await start(await freePort());
    const { issuer, output } = server;

    const discovery = await fetch(`${issuer}/.well-known/openid-configuration`);
    assert.equal(discovery.status, 200);
    const document = (await discovery.json()) as Record<string, any>;
    assert.equal(document.issuer, issuer);
    assert.equal(document.authorization_endpoint, `${issuer}/oauth/authorize`);
    assert.equal(document.token_endpoint, `${issuer}/oauth/token`);
    assert.equal(document.jwks_uri, `${issuer}/oauth/jwks`);
    assert.ok(document.id_token_signing_alg_values_supported.includes('ES256'));
    const jwks = (await (await fetch(document.jwks_uri)).json()) as { keys: Record<string, unknown>[] };
    assert.ok(jwks.keys.length >= 1);
    assert.ok(jwks.keys.every((k) => !('d' in k)), 'no private key material in the JWKS');

    const credentialsFile = join(dir, 'demo-credentials.json');
    assert.equal((await stat(credentialsFile)).mode & 0o777, 0o600);
    const credentials = JSON.parse(await readFile(credentialsFile, 'utf8'));
    assert.equal(credentials.issuer, issuer);
    assert.match(output.stdout, /First start: a demo is ready/);
    assert.ok(output.stdout.includes(`client_id=demo-web client_secret=${credentials.web.client_secret}`), output.stdout);
    assert.ok(output.stdout.includes(`username=demo@example.com password=${credentials.user.password}`));
    assert.ok(output.stdout.includes(`${issuer}/.well-known/openid-configuration`));

    // The printed credentials work: the demo mobile app signs the demo user in.
    const token = await fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'demo-mobile', username: credentials.user.email, password: credentials.user.password, scope: 'openid' }),
    });
    assert.equal(token.status, 200, await token.clone().text());
    assert.equal(((await token.json()) as Record<string, unknown>).token_type, 'Bearer');

    await stop(server);
  });

  it('on a later start prints no demo, applies --import, and keeps its data', async () => {
    const importPath = join(dir, 'import.json');
    await writeFile(importPath, JSON.stringify({ clients: [{ client_id: 'imported-app', name: 'Imported', redirect_uris: ['https://imported.example/cb'] }] }));
    const server = await start(await freePort(), ['--import', importPath]);
    assert.ok(!server.output.stdout.includes('First start'));
    const logs = server.output.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);
    const applied = logs.find((l) => l.msg === 'import applied');
    assert.deepEqual(applied?.clients, { created: 1, updated: 0 });
    const credentials = JSON.parse(await readFile(join(dir, 'demo-credentials.json'), 'utf8'));
    const token = await fetch(`${server.issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'demo-mobile', username: credentials.user.email, password: credentials.user.password }),
    });
    assert.equal(token.status, 200, 'the demo user survived the restart');
    await stop(server);
  });
});

/**
 * What a process manager sees: a start that fails exits at once with a status and one log
 * line; the embedded data folder is one process's; a stop reaches the server however it was
 * launched.
 */
describe('idflow start under a process manager', () => {
  const children = new Set<ChildProcess>();
  const dirs: string[] = [];
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function dataDir() {
    const dir = await mkdtemp(join(tmpdir(), 'idflow-supervised-'));
    dirs.push(dir);
    return dir;
  }
  /** One folder for the tests that only start and stop: a new folder costs seconds at its first start. */
  let shared: Promise<string> | undefined;
  const sharedDir = () => (shared ??= dataDir());

  /** Spawns a long-running command (default `idflow start`) on `dir`; collects what it prints and how it ends. */
  function launch(dir: string, port: number, options: { args?: string[]; command?: [string, ...string[]] } = {}) {
    const [file, ...args] = options.command ?? [process.execPath, BIN, 'start', ...(options.args ?? [])];
    const child = spawn(file, args, {
      cwd: ROOT,
      env: { ...baseEnv(), PORT: String(port), HOST: '127.0.0.1', IDFLOW_ISSUER: `http://127.0.0.1:${port}`, IDFLOW_DATA_DIR: dir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const output = { stdout: '', stderr: '' };
    child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    return { child, output, exited, issuer: `http://127.0.0.1:${port}` };
  }

  async function ready(server: ReturnType<typeof launch>) {
    const deadline = Date.now() + 90_000;
    while ((await fetch(`${server.issuer}/readyz`).then((r) => r.status, () => 0)) !== 200) {
      if (server.child.exitCode !== null) assert.fail(`idflow start exited ${server.child.exitCode}:\n${server.output.stdout}\n${server.output.stderr}`);
      if (Date.now() > deadline) assert.fail(`idflow start was not ready in time:\n${server.output.stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Waits for the exit; fails if it does not come within `ms`. */
  async function exitWithin(server: ReturnType<typeof launch>, ms: number) {
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, ms, 'timeout').unref());
    const outcome = await Promise.race([server.exited, timeout]);
    assert.notEqual(outcome, 'timeout', `still running after ${ms} ms:\n${server.output.stdout}\n${server.output.stderr}`);
    return outcome as [number | null, NodeJS.Signals | null];
  }

  /** The JSON log lines of a start. */
  const logs = (stdout: string) =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, any>);

  /** The one line that says why a start failed, and that it was the last. */
  function failureLine(stdout: string) {
    const lines = logs(stdout);
    const fatal = lines.filter((l) => l.level === 60);
    assert.equal(fatal.length, 1, stdout);
    assert.equal(lines.at(-1), fatal[0], 'nothing is logged after the reason');
    assertNoStackTrace(stdout);
    assert.equal(fatal[0]!.err, undefined, 'an expected failure carries no error object');
    return fatal[0]!.msg as string;
  }

  /** Resolves once nothing accepts connections on the port. */
  async function portFreed(port: number, ms: number) {
    const deadline = Date.now() + ms;
    while (await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false)) {
      if (Date.now() > deadline) assert.fail(`port ${port} still answers after ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The processes below `pid` (Linux /proc). */
  async function descendants(pid: number): Promise<number[]> {
    const parents = new Map<number, number>();
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid) parents.set(Number(entry), ppid);
    }
    const below = (p: number): number[] => [...parents].filter(([, parent]) => parent === p).flatMap(([child]) => [child, ...below(child)]);
    return below(pid);
  }

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('exits 1 at once with one log line when its port is in use', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as { port: number }).port;
      const server = launch(await dataDir(), port);
      const [code, signal] = await exitWithin(server, 60_000);
      assert.deepEqual([code, signal], [1, null]);
      assert.match(failureLine(server.output.stdout), new RegExp(`^idflow could not start: the address 127\\.0\\.0\\.1:${port} is already in use; stop what listens there or set PORT$`));
      const reported = Date.parse(logs(server.output.stdout).at(-1)!.time);
      assert.ok(Date.now() - reported < 5_000, 'it exits within seconds of failing, not when something times out');
    } finally {
      holder.close();
    }
  });

  it('exits 1 and writes nothing of an import file with an invalid user', async () => {
    const dir = await dataDir();
    const file = join(dir, 'idflow.json');
    await writeFile(
      file,
      JSON.stringify({
        clients: [
          { client_id: 'first-app', name: 'First', redirect_uris: ['https://first.example/cb'] },
          { client_id: 'second-app', name: 'Second', public: true, grant_types: ['password', 'refresh_token'] },
        ],
        users: [{ email: 'fine@example.com', password: 'a long enough passphrase' }, { email: 'broken@example.com', password: 'short' }],
      }),
    );
    const server = launch(dir, await freePort(), { args: ['--import', file] });
    const [code] = await exitWithin(server, 60_000);
    assert.equal(code, 1);
    assert.equal(failureLine(server.output.stdout), `idflow could not start: The import file ${file} is not valid: users[1].password: must be at least 8 characters`);
    // The folder was released: a command can open it, and finds nothing of the file.
    const clients = json(await idflow(['client', 'list', '--json'], { IDFLOW_DATA_DIR: dir })) as Record<string, any>[];
    assert.deepEqual(clients.map((c) => c.client_id).filter((id) => id.endsWith('-app')), []);
    const user = await idflow(['user', 'create', '--email', 'fine@example.com', '--json'], { IDFLOW_DATA_DIR: dir });
    assert.equal(user.status, 0, `the valid user of the file was not written either: ${user.stderr}`);
  });

  it('refuses a command, and a second server, on the data folder a server holds; a killed server’s lock is taken over', async () => {
    const dir = await dataDir();
    const server = launch(dir, await freePort());
    await ready(server);
    const pid = server.child.pid!;

    const command = await idflow(['user', 'create', '--email', 'late@example.com', '--json'], { IDFLOW_DATA_DIR: dir });
    assert.equal(command.status, 3);
    assert.equal(command.stdout, '');
    assert.match(command.stderr, new RegExp(`^idflow: the data folder ${dir.replaceAll('.', '\\.')} is in use by process ${pid} \\(since [0-9T:.-]+Z\\); stop the server or use DATABASE_URL\\n$`));

    const second = launch(dir, await freePort());
    const [code] = await exitWithin(second, 60_000);
    assert.equal(code, 3);
    assert.match(failureLine(second.output.stdout), new RegExp(`^idflow could not start: the data folder .* is in use by process ${pid} `));
    assert.equal((await fetch(`${server.issuer}/readyz`)).status, 200, 'the first server is untouched');

    // A process that dies without releasing it leaves the lock behind; the next opener takes it over.
    server.child.kill('SIGKILL');
    await server.exited;
    const afterKill = await idflow(['user', 'create', '--email', 'late@example.com', '--json'], { IDFLOW_DATA_DIR: dir });
    assert.equal(afterKill.status, 0, afterKill.stderr);
    assert.match(afterKill.stderr, /left locked by a process that is gone; taking it over/);
  });

  for (const [name, command] of [
    ['npm start', ['npm', 'start', '--silent']],
    ['npm run idflow -- start', ['npm', 'run', '--silent', 'idflow', '--', 'start']],
  ] as const) {
    it(`stops when the ${name} it was launched with is sent SIGTERM, freeing the port`, async () => {
      const dir = await sharedDir();
      const port = await freePort();
      const launcher = launch(dir, port, { command: [...command] });
      await ready(launcher);
      // The server is npm's grandchild, behind `sh -c`.
      const launched = await descendants(launcher.child.pid!);
      assert.ok(launched.length >= 1);
      launcher.child.kill('SIGTERM');
      await exitWithin(launcher, 10_000);
      await portFreed(port, 10_000);
      const deadline = Date.now() + 10_000;
      while (launched.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(launched.filter(alive), [], 'every process npm started is gone');
      assert.match(launcher.output.stdout, /"signal":"SIGTERM","msg":"closing"/, 'it closed gracefully');
    });
  }

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`closes gracefully on ${signal} to bin/idflow.mjs, exiting 0 and freeing the port`, async () => {
      const port = await freePort();
      const server = launch(await sharedDir(), port);
      await ready(server);
      server.child.kill(signal);
      assert.deepEqual(await exitWithin(server, 10_000), [0, null]);
      await portFreed(port, 1_000);
      assert.match(server.output.stdout, new RegExp(`"signal":"${signal}","msg":"closing"`));
    });
  }
});

for (const backend of await backends()) {
  describe(`import file (${backend})`, () => {
    let platform: TestPlatform;
    let dir: string;
    const pinnedSecret = 'pinned-secret-for-shop-web-0123456789';
    const document = {
      clients: [
        {
          client_id: 'shop-web',
          name: 'Shop',
          redirect_uris: ['https://shop.example/cb'],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid email',
          client_secret: pinnedSecret,
        },
        { client_id: 'shop-app', name: 'Shop App', redirect_uris: ['com.shop.app:/cb'], grant_types: ['authorization_code', 'password', 'refresh_token'], scope: 'openid', public: true },
      ],
      users: [{ email: 'Ada@Example.com', password: 'correct horse battery staple' }, { phone: '+1 415 555 2671' }],
    };

    before(async () => {
      platform = await startPlatform(backend);
      dir = await mkdtemp(join(tmpdir(), 'idflow-import-'));
    });
    after(async () => {
      await platform.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('creates the clients and users of a file', async () => {
      const path = join(dir, 'idflow.json');
      await writeFile(path, JSON.stringify(document));
      const summary = await importFile(platform.services, path);
      assert.deepEqual(summary, { clients: { created: 2, updated: 0 }, users: { created: 2, updated: 0 } });
      const web = await platform.services.clients.find('shop-web');
      assert.ok(web && secretMatches(pinnedSecret, web.secretHash!));
      assert.equal(web.metadata.scope, 'openid email');
      assert.equal((await platform.services.clients.find('shop-app'))?.metadata.token_endpoint_auth_method, 'none');
      const ada = await platform.services.repos.users.findByEmail('ada@example.com');
      assert.ok(ada?.passwordHash);
      assert.ok(await platform.services.repos.users.findByPhone('+14155552671'));
    });

    it('applied again, updates what is there instead of duplicating it', async () => {
      const before = {
        clients: await platform.services.clients.list(),
        ada: await platform.services.repos.users.findByEmail('ada@example.com'),
      };
      const summary = await applyImport(platform.services, document);
      assert.deepEqual(summary, { clients: { created: 0, updated: 2 }, users: { created: 0, updated: 2 } });
      const clients = await platform.services.clients.list();
      assert.deepEqual(clients.map((c) => c.clientId), before.clients.map((c) => c.clientId));
      assert.deepEqual(clients.map((c) => c.secretHash), before.clients.map((c) => c.secretHash), 'secrets are unchanged');
      assert.equal(await platform.services.repos.users.count(), 2);
      const ada = await platform.services.repos.users.findByEmail('ada@example.com');
      assert.equal(ada?.id, before.ada?.id);
      assert.equal(ada?.passwordHash, before.ada?.passwordHash, 'the same password is not rehashed');

      const changed = structuredClone(document);
      changed.clients[0]!.scope = 'openid email phone';
      delete (changed.clients[0] as { client_secret?: string }).client_secret;
      changed.users[0]!.password = 'a brand new passphrase';
      await applyImport(platform.services, changed);
      const web = await platform.services.clients.find('shop-web');
      assert.equal(web?.metadata.scope, 'openid email phone');
      assert.ok(secretMatches(pinnedSecret, web!.secretHash!), 'an entry without a secret keeps the one it had');
      const signedIn = await platform.services.signIn.verify('ada@example.com', 'a brand new passphrase', '127.0.0.1');
      assert.equal(signedIn.id, ada?.id);
    });

    it('an entry changes every field it names, as client update does; null removes one; the rest is kept', async () => {
      await applyImport(platform.services, {
        clients: [
          {
            client_id: 'shop-web',
            name: 'Shop Online',
            redirect_uris: ['https://shop.example/cb', 'https://shop.example/cb2'],
            post_logout_redirect_uris: ['https://shop.example/'],
            grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
            access_token_ttl: 900,
            introspect: true,
            integration: 'hosted',
            environment: 'production',
            default_redirect_url: 'https://shop.example/verified',
            one_click: { title: 'Login', display_name: 'Shop', send_sms: true, birth_date_format: 'unix_ms', default_credential_requests: [{ type: 'FullNameCredential' }] },
            web_kyc: 'veriff',
          },
        ],
      });
      const full = (await platform.services.clients.find('shop-web'))!;
      assert.equal(full.name, 'Shop Online');
      assert.equal(full.metadata.scope, 'openid email phone', 'kept from the earlier import');
      assert.ok(secretMatches(pinnedSecret, full.secretHash!), 'the secret is kept');
      assert.deepEqual(full.metadata.redirect_uris, ['https://shop.example/cb', 'https://shop.example/cb2']);
      assert.deepEqual(full.metadata.post_logout_redirect_uris, ['https://shop.example/']);
      assert.deepEqual(full.metadata.grant_types, ['authorization_code', 'refresh_token', 'client_credentials']);
      assert.equal(full.metadata.access_token_ttl, 900);
      assert.equal(full.metadata.introspection_allowed, true);
      assert.deepEqual(full.metadata.one_click, {
        integration: 'hosted',
        environment: 'production',
        default_redirect_url: 'https://shop.example/verified',
        title: 'Login',
        display_name: 'Shop',
        default_credential_requests: [{ type: 'FullNameCredential' }],
        send_sms: true,
        birth_date_format: 'unix_ms',
      });
      assert.deepEqual(full.metadata.web_kyc, { enabled: true, provider: 'veriff' });

      // The integration type alone changes; null takes fields away; false turns things off.
      await applyImport(platform.services, {
        clients: [{ client_id: 'shop-web', integration: 'semi_hosted', access_token_ttl: null, introspect: false, web_kyc: false, one_click: { display_name: null, send_sms: false } }],
      });
      const changed = (await platform.services.clients.find('shop-web'))!;
      assert.equal(changed.name, 'Shop Online');
      assert.equal(changed.metadata.access_token_ttl, undefined);
      assert.equal(changed.metadata.introspection_allowed, undefined);
      assert.deepEqual(changed.metadata.web_kyc, { enabled: false, provider: 'sandbox' });
      const { display_name: _removed, ...kept } = full.metadata.one_click as Record<string, unknown>;
      assert.deepEqual(changed.metadata.one_click, { ...kept, integration: 'semi_hosted', send_sms: false });
      assert.deepEqual(changed.metadata.redirect_uris, full.metadata.redirect_uris);

      await applyImport(platform.services, { clients: [{ client_id: 'shop-web', one_click: null, default_redirect_url: null }] });
      assert.equal((await platform.services.clients.find('shop-web'))!.metadata.one_click, undefined, 'no longer a 1-Click brand');
      // The file is checked by the same rules as the CLI.
      await assert.rejects(applyImport(platform.services, { clients: [{ client_id: 'shop-web', public: true, grant_types: ['client_credentials'] }] }), /clients\[0\]\.grant_types: a public client has no secret/);
      await assert.rejects(applyImport(platform.services, { clients: [{ client_id: 'shop-web', integration: 'hosted', one_click: { birth_date_format: 'epoch' } }] }), /clients\[0\]\.one_click\.birth_date_format: must be one of iso, unix_ms/);
    });

    it('applies a file whole or not at all, naming every refused entry', async () => {
      const usersBefore = await platform.services.repos.users.count();
      const partlyBad = {
        clients: [
          { client_id: 'atomic-web', name: 'Atomic', redirect_uris: ['https://atomic.example/cb'] },
          { client_id: 'atomic-app', name: 'Atomic App', public: true, grant_types: ['password', 'refresh_token'] },
          { client_id: 'atomic-bad', name: 'Bad', redirect_uris: ['http://atomic.example/cb'] },
        ],
        users: [{ email: 'atomic@example.com', password: 'a long enough passphrase' }, { phone: '12345' }],
      };
      await assert.rejects(applyImport(platform.services, partlyBad), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.publicMessage, 'clients[2].redirect_uris.0: must use https; users[1].phone: must be a valid phone number in international format');
        return true;
      });
      for (const id of ['atomic-web', 'atomic-app', 'atomic-bad']) assert.equal(await platform.services.clients.find(id), undefined, `${id} was not written`);
      assert.equal(await platform.services.repos.users.findByEmail('atomic@example.com'), undefined);
      assert.equal(await platform.services.repos.users.count(), usersBefore);

      // The same file once mended applies whole.
      partlyBad.clients.pop();
      partlyBad.users.pop();
      assert.deepEqual(await applyImport(platform.services, partlyBad), { clients: { created: 2, updated: 0 }, users: { created: 1, updated: 0 } });
    });

    it('names the entry and field of every error', async () => {
      const bad = structuredClone(document) as { clients: Record<string, unknown>[]; users: Record<string, unknown>[] };
      bad.clients[1]!.redirect_uris = ['http://shop.example/cb'];
      await assert.rejects(applyImport(platform.services, bad), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'validation_failed');
        assert.match(error.publicMessage, /^clients\[1\]\.redirect_uris\.0: must use https$/);
        return true;
      });
      await assert.rejects(applyImport(platform.services, { clients: [{ name: 'no id' }] }), /clients\[0\]\.client_id: is required/);
      await assert.rejects(applyImport(platform.services, { users: [{ email: 'ok@example.com' }, { phone: '12345' }] }), /users\[1\]\.phone: must be a valid phone number/);
      await assert.rejects(applyImport(platform.services, { users: [{ email: 'short@example.com', password: 'short' }] }), /users\[0\]\.password: must be at least 8 characters/);
      await assert.rejects(applyImport(platform.services, { clients: {} }), /"clients" must be an array/);
      await assert.rejects(applyImport(platform.services, []), /must hold a JSON object/);
      const notJson = join(dir, 'broken.json');
      await writeFile(notJson, '{ "clients": [ ');
      await assert.rejects(importFile(platform.services, notJson), (error: unknown) => error instanceof AppError && /cannot be read as JSON/.test(error.publicMessage));
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
