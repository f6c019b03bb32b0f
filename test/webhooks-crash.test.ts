import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Keyring } from '../src/kernel/sealing.ts';
import { newSigningSecret } from '../src/notifications/webhooks/signing.ts';
import { backends, freePort, POSTGRES_URL } from './support/platform.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

/**
 * The server is killed (SIGKILL: no graceful close) while it delivers, and started again:
 * every event is delivered, none is lost, and a message sent twice (its attempt was cut off
 * by the crash) carries the same webhook-id both times. The receiver verifies every message
 * with standardwebhooks and svix.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/idflow.mjs');
const FLOWS = 40;
const REDIRECT = 'https://crash.example/back';

interface Target {
  name: string;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function pgliteTarget(dir: string): Promise<Target> {
  return { name: 'embedded PGlite', env: { IDFLOW_DATA_DIR: dir }, cleanup: async () => {} };
}

/** A schema of its own on the test PostgreSQL, named in DATABASE_URL as an operator could. */
async function postgresTarget(dir: string): Promise<Target> {
  const schema = `crash_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    name: 'PostgreSQL',
    env: { DATABASE_URL: url.toString(), IDFLOW_SEALING_KEYS: Keyring.generateText('crash'), IDFLOW_DATA_DIR: dir },
    async cleanup() {
      await admin.query(`drop schema ${schema} cascade`).catch(() => {});
      await admin.end();
    },
  };
}

for (const name of (await backends()).map((b) => (b === 'pglite' ? pgliteTarget : postgresTarget))) {
  describe(`webhook delivery survives a crash (${name === pgliteTarget ? 'embedded PGlite' : 'PostgreSQL'})`, () => {
    let dir: string;
    let target: Target;
    let receiver: WebhookReceiver;
    let child: ChildProcess | undefined;
    const secret = newSigningSecret();

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'idflow-crash-'));
      target = await name(dir);
      // Slow enough that the crash always finds attempts in flight.
      receiver = await startWebhookReceiver([secret]);
      receiver.always({ delayMs: 400 });
      await writeFile(
        join(dir, 'idflow.json'),
        JSON.stringify({
          clients: [{
            client_id: 'crash-shop', name: 'Crash shop', client_secret: `crash-${randomBytes(24).toString('hex')}`, redirect_uris: [REDIRECT], grant_types: ['authorization_code'], web_kyc: true,
            webhooks: [{ url: receiver.url, event_types: ['web_kyc.started'], secret }],
          }],
        }),
      );
    });
    after(async () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await receiver.close();
      await target.cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    async function start(port: number) {
      const issuer = `http://127.0.0.1:${port}`;
      const output = { text: '' };
      child = spawn(process.execPath, [BIN, 'start', '--import', join(dir, 'idflow.json')], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          PORT: String(port),
          HOST: '127.0.0.1',
          IDFLOW_ISSUER: issuer,
          LOG_LEVEL: 'warn',
          IDFLOW_WEBHOOK_ALLOWED_NETWORKS: 'loopback',
          IDFLOW_WEBHOOK_POLL_MS: '100',
          IDFLOW_WEBHOOK_TIMEOUT_SECONDS: '2',
          ...target.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (chunk: Buffer) => (output.text += chunk.toString('utf8')));
      child.stderr!.on('data', (chunk: Buffer) => (output.text += chunk.toString('utf8')));
      const deadline = Date.now() + 90_000;
      for (;;) {
        if (child.exitCode !== null) assert.fail(`idflow start exited ${child.exitCode}:\n${output.text}`);
        if ((await fetch(`${issuer}/readyz`).then((r) => r.status, () => 0)) === 200) return { issuer, output };
        if (Date.now() > deadline) assert.fail(`idflow start was not ready in time:\n${output.text}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }

    async function waitFor(what: string, done: () => boolean, ms: number) {
      const deadline = Date.now() + ms;
      while (!done()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    it('delivers every event at least once, duplicates under the same webhook-id', async () => {
      const port = await freePort();
      const { issuer } = await start(port);
      const flowIds: string[] = [];
      for (let i = 0; i < FLOWS; i += 1) {
        const answer = await fetch(`${issuer}/authorize?response_type=code&client_id=crash-shop&redirect_uri=${encodeURIComponent(REDIRECT)}&scope=kyc&state=s${i}`, { redirect: 'manual' });
        assert.equal(answer.status, 303);
        flowIds.push(/([0-9a-f-]{36})$/.exec(answer.headers.get('location')!)![1]!);
      }
      // Every flow (and its event) is committed; kill the server while it delivers.
      await waitFor('the first deliveries', () => receiver.accepted.length >= 4, 30_000);
      const exited = once(child!, 'exit');
      child!.kill('SIGKILL');
      await exited;
      // Attempts the crash cut short: the receiver had them, the sender never heard back.
      await new Promise((resolve) => setTimeout(resolve, 600));
      const cutShort = receiver.received.filter((m) => !m.answered).map((m) => m.id);
      assert.ok(receiver.accepted.length < FLOWS, 'the crash came in the middle of the deliveries');
      assert.ok(cutShort.length >= 1, 'attempts were in flight when the server died');

      await start(port);
      const delivered = () => new Set(receiver.accepted.map((m) => m.json.data.flow_id));
      const acceptedIds = () => new Set(receiver.accepted.map((m) => m.id));
      await waitFor('every event', () => delivered().size === FLOWS, 60_000);
      await waitFor('the attempts cut short, made again', () => cutShort.every((id) => acceptedIds().has(id)), 60_000);
      assert.deepEqual([...delivered()].sort(), [...flowIds].sort(), 'every event, none lost');
      assert.ok(receiver.received.every((m) => m.verified), 'every message verifies with standardwebhooks and svix');

      // A message whose attempt the crash cut short was sent again: same webhook-id, same body.
      const byFlow = new Map<string, Set<string>>();
      for (const m of receiver.received) byFlow.set(m.json.data.flow_id, (byFlow.get(m.json.data.flow_id) ?? new Set()).add(m.id));
      assert.ok([...byFlow.values()].every((ids) => ids.size === 1), 'one webhook-id per event, however often it was sent');
      const sentTwice = receiver.received.filter((m, i) => receiver.received.findIndex((n) => n.id === m.id) !== i);
      assert.ok(cutShort.every((id) => sentTwice.some((m) => m.id === id)), 'each attempt cut short was made again under its webhook-id');
      for (const again of sentTwice) assert.equal(again.body, receiver.received.find((m) => m.id === again.id)!.body);

      const stopped = once(child!, 'exit');
      child!.kill('SIGTERM');
      await stopped;
    });

    it('shows subscriptions, deliveries and attempts, and redelivers, from the command line', async () => {
      const [subscription] = await idflowJson('webhook', 'list', 'crash-shop', '--json');
      assert.equal(subscription.url, receiver.url);
      assert.equal(subscription.enabled, true);
      assert.equal(JSON.stringify(subscription).includes(secret), false, 'a list never shows a secret');
      const delivered = await idflowJson('webhook', 'deliveries', '--subscription', subscription.id, '--state', 'delivered', '--limit', '500', '--json');
      assert.equal(delivered.length, FLOWS);
      const shown = await idflowJson('webhook', 'attempts', String(delivered[0].id), '--json');
      assert.equal(shown.message_id, delivered[0].message_id);
      assert.equal(shown.attempts.at(-1).status, 204);
      await idflow('webhook', 'redeliver', String(delivered[0].id));
      const [again] = await idflowJson('webhook', 'deliveries', '--subscription', subscription.id, '--state', 'pending', '--json');
      assert.equal(again.message_id, delivered[0].message_id, 'due again, under the same webhook-id');
      const refused = await run('webhook', 'subscribe', 'crash-shop', '--url', 'http://10.0.0.1/hook', '--events', 'web_kyc.started');
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /url: must not be a loopback, private or link-local address/);
    });

    async function run(...args: string[]) {
      const command = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...target.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      command.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      command.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const [status] = (await once(command, 'close')) as [number | null];
      return { status, stdout, stderr };
    }
    async function idflow(...args: string[]) {
      const result = await run(...args);
      assert.equal(result.status, 0, result.stderr);
      return result.stdout;
    }
    const idflowJson = async (...args: string[]) => JSON.parse(await idflow(...args));
  });
}
