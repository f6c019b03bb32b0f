// Notification delivery: how many signed messages per second idflow's delivery worker gets
// verified by a local receiver, against a bare loop posting the same signed bodies to the same
// receiver; and how long after an event commits its first attempt reaches the receiver,
// against the receiver's own round trip. `npx node bench/notifications.ts`; bench/README.md.
//
// Its own database and server process (bench/lib/standalone.ts), the receiver in a process of
// its own (bench/webhook-receiver.ts, verifying with `standardwebhooks`), a subscription made
// through the core. Events come from a cheap core call that writes one: creating an API key
// (`client.changed`, change `api_key_created`), made in this process as the CLI makes it.
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { DestinationPolicy } from '../src/notifications/webhooks/destinations.ts';
import { postMessage } from '../src/notifications/webhooks/sender.ts';
import { WebhookDeliveriesRepo } from '../src/storage/webhook-deliveries-repo.ts';
import { newSigningSecret, webhookHeaders } from '../src/notifications/webhooks/signing.ts';
import type { Services } from '../src/services.ts';
import { measure, type Measurement } from './lib/load.ts';
import { freePort, startProcess, type ServerProcess } from './lib/processes.ts';
import { runStandalone } from './lib/standalone.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT = 'bench-notifications';
const SECRET = newSigningSecret();
/** Attempts in flight, for the worker (one endpoint) and for the bare loop alike. */
const IN_FLIGHT = Math.round(Number(process.env.BENCH_NOTIFY_IN_FLIGHT || 32));
/** Events per second while the latency is measured: a steady trickle, far below saturation. */
const RATE = Number(process.env.BENCH_NOTIFY_RATE || 50);
const TARGET = 0.5;
/** The sender's settings, as the server has them (bench/lib/standalone.ts passes them on). */
const TIMEOUT_MS = 15_000;

interface Prepared {
  receiver: ServerProcess;
}

/** The server's view of the receiver: its counters and when each key's first attempt arrived. */
async function stats(receiver: ServerProcess): Promise<{ verified: number; duplicates: number; rejected: number }> {
  return (await request(`${receiver.url}/stats`)).body.json() as Promise<{ verified: number; duplicates: number; rejected: number }>;
}
async function arrivals(receiver: ServerProcess): Promise<Record<string, number>> {
  return (await request(`${receiver.url}/arrivals`)).body.json() as Promise<Record<string, number>>;
}

/** One event, committed when this resolves: an API key created through the core. */
async function produce(services: Services): Promise<{ keyId: string; committedAt: number }> {
  const { record } = await services.apiKeys.create(CLIENT);
  return { keyId: record.id, committedAt: performance.timeOrigin + performance.now() };
}

/** Waits until the receiver has the first attempt of every key in `keyIds`, or `timeoutMs` passed. */
async function arrivalsOf(receiver: ServerProcess, keyIds: string[], timeoutMs: number): Promise<Record<string, number>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = await arrivals(receiver);
    if (keyIds.every((id) => got[id] !== undefined) || Date.now() > until) return got;
    await sleep(100);
  }
}

function percentiles(values: number[]): { p50: number; p99: number; max: number; count: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN, count: sorted.length };
}

const ms = (v: number) => v.toFixed(2);

async function main(): Promise<void> {
  let receiver: ServerProcess | undefined;
  try {
    await runStandalone<Prepared>(
      'notifications',
      async (services) => {
        const port = await freePort();
        const logFile = join(tmpdir(), `idflow_bench_receiver_${port}.log`);
        receiver = await startProcess({ args: ['bench/webhook-receiver.ts'], env: { PORT: String(port), WEBHOOK_SECRET: SECRET }, cwd: ROOT, port, readyPath: '/stats', logFile });
        await services.clients.save({ clientId: CLIENT, name: 'Bench notifications', grantTypes: ['client_credentials'], scope: 'api:read' });
        await services.webhooks.subscribe(CLIENT, { url: `${receiver.url}/idflow`, eventTypes: ['client.changed'], secret: SECRET });
        return { receiver };
      },
      async ({ services, prepared: { receiver }, k, log, window }) => {
        const policy = new DestinationPolicy(['loopback']);
        const url = new URL(`${receiver.url}/idflow`);
        let bare = 0;
        /** One bare post: the same signing and the same sender as the worker's, without the queue. */
        const post = (body: string) => postMessage(url, webhookHeaders([SECRET], `msg_bare_${bare++}`, new Date(), body), body, { policy, timeoutMs: TIMEOUT_MS });

        // Prime: a few deliveries, so every path is warm and the bare loop has real bodies.
        const primed = await Promise.all(Array.from({ length: 200 }, () => produce(services)));
        await arrivalsOf(receiver, primed.map((p) => p.keyId), 30_000);
        const bodies = (await services.db.query<{ body: string }>(`select body from webhook_deliveries where state = 'delivered' order by id limit 200`)).map((r) => r.body);
        if (bodies.length === 0) throw new Error('no delivery reached the receiver in 30 s: see the server log');

        // 1. Latency: RATE events/s, each also a bare post of a delivered body at the same moment.
        log(`notifications: commit to first attempt at ${RATE} events/s, beside bare posts at the same rate`);
        const events: { keyId: string; committedAt: number; counted: boolean }[] = [];
        const roundTrips: number[] = [];
        const pending: Promise<unknown>[] = [];
        const started = performance.now();
        const warmupMs = k.warmupSeconds * 1000;
        const total = Math.round(((k.warmupSeconds + k.seconds) * RATE));
        for (let i = 0; i < total; i++) {
          const due = started + (i * 1000) / RATE;
          if (due > performance.now()) await sleep(due - performance.now());
          const counted = performance.now() - started >= warmupMs;
          pending.push(produce(services).then((e) => events.push({ ...e, counted })));
          const sent = performance.now();
          pending.push(post(bodies[i % bodies.length]!).then((o) => counted && o.status === 204 && roundTrips.push(performance.now() - sent)));
        }
        await Promise.all(pending);
        const measured = events.filter((e) => e.counted);
        const got = await arrivalsOf(receiver, measured.map((e) => e.keyId), 30_000);
        const delays = measured.filter((e) => got[e.keyId] !== undefined).map((e) => got[e.keyId]! - e.committedAt);
        const commitToFirstAttempt = { ...percentiles(delays), missing: measured.length - delays.length };
        const receiverRoundTrip = percentiles(roundTrips);

        // 2. The bare loop: IN_FLIGHT posts at a time, as fast as the receiver answers.
        log(`notifications: bare loop, ${IN_FLIGHT} posts in flight`);
        const bareLoop: Measurement = await measure({
          warmupMs,
          durationMs: k.seconds * 1000,
          maxRequests: k.maxRequests,
          workers: Array.from({ length: IN_FLIGHT }, (_, w) => {
            let n = w;
            return {
              request: async () => {
                const outcome = await post(bodies[n++ % bodies.length]!);
                return outcome.status === 204 ? undefined : `bare post: ${outcome.status ?? outcome.error}`;
              },
            };
          }),
        });

        // 3. The worker: a backlog it cannot finish within the warm-up and the window at the bare
        // loop's rate. The queue is held while the backlog is written (this process holds the
        // fan-out lock every node takes before fanning out, so the events wait in the outbox, as
        // they would behind a busy node), then let go; the receiver's count over the window.
        const wanted = Math.ceil(bareLoop.perSecond * (k.warmupSeconds + k.seconds) * 1.2);
        log(`notifications: worker deliveries, a backlog of ${wanted} events first`);
        const before = (await stats(receiver)).verified;
        let written = 0;
        let lockTaken: () => void;
        const locked = new Promise<void>((resolve) => (lockTaken = resolve));
        let release: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        const holding = services.db.transaction(async (tx) => {
          if (!(await new WebhookDeliveriesRepo(tx, services.keyring).tryLockFanOut())) throw new Error('the fan-out lock is taken');
          lockTaken();
          await released;
        });
        await Promise.race([locked, holding]);
        const writer = async () => {
          while (written < wanted) {
            written++;
            await produce(services);
          }
        };
        const writing = performance.now();
        await Promise.all(Array.from({ length: 32 }, writer));
        log(`notifications: ${written} events written in ${((performance.now() - writing) / 1000).toFixed(1)} s; the queue goes`);
        release!();
        await holding;
        // The worker finds the backlog at its next poll (no commit wakes it): warm up from the first delivery.
        while ((await stats(receiver)).verified === before) await sleep(20);
        await sleep(warmupMs);
        window.start('deliveries');
        const from = { at: performance.now(), count: (await stats(receiver)).verified };
        let to = from;
        let drained = false;
        while (performance.now() - from.at < k.seconds * 1000) {
          await sleep(100);
          to = { at: performance.now(), count: (await stats(receiver)).verified };
          if (to.count - before >= written) {
            drained = true;
            break;
          }
        }
        const cpu = window.end('deliveries');
        const deliveries = { perSecond: (to.count - from.count) / ((to.at - from.at) / 1000), count: to.count - from.count, seconds: (to.at - from.at) / 1000, backlog: written, drained };
        const ratio = deliveries.perSecond / bareLoop.perSecond;
        // Where a delivery's cost goes: milliseconds of CPU per delivery, of the server and of PostgreSQL (the bare loop uses neither).
        const perDelivery = (cores: number | null | undefined) => (cores == null ? NaN : (cores * 1000) / deliveries.perSecond);
        const cpuPerDelivery = { serverMs: perDelivery(cpu?.server), postgresMs: perDelivery(cpu?.postgres), otherCores: (cpu?.other ?? NaN) + (cpu?.steal ?? 0) };
        const receiverCounts = await stats(receiver);

        const lines = [
          `notifications, one subscription, ${IN_FLIGHT} attempts in flight (IDFLOW_WEBHOOK_CONCURRENCY_PER_ENDPOINT=${IN_FLIGHT}), receiver verifying with standardwebhooks`,
          `  worker deliveries    ${deliveries.perSecond.toFixed(0).padStart(6)}/s  (${deliveries.count} in ${deliveries.seconds.toFixed(1)} s${drained ? ', backlog ran out: the window ended early' : ''})`,
          `  bare loop            ${bareLoop.perSecond.toFixed(0).padStart(6)}/s  (the same signed bodies, the same sender, no queue; p50 ${ms(bareLoop.latency.p50)} ms, p99 ${ms(bareLoop.latency.p99)} ms, ${bareLoop.errors} errors)`,
          `  ratio                ${ratio.toFixed(2)}  target ≥ ${TARGET}: ${ratio >= TARGET ? 'PASS' : 'FAIL'}`,
          `  CPU per delivery     server ${ms(cpuPerDelivery.serverMs)} ms, PostgreSQL ${ms(cpuPerDelivery.postgresMs)} ms (other work on the machine: ${cpuPerDelivery.otherCores.toFixed(2)} cores)`,
          `  commit → first attempt at ${RATE}/s: p50 ${ms(commitToFirstAttempt.p50)} ms, p99 ${ms(commitToFirstAttempt.p99)} ms, max ${ms(commitToFirstAttempt.max)} ms (${commitToFirstAttempt.count} events, ${commitToFirstAttempt.missing} missing)`,
          `  receiver round trip at ${RATE}/s: p50 ${ms(receiverRoundTrip.p50)} ms, p99 ${ms(receiverRoundTrip.p99)} ms; commit→first attempt p99 / round trip p99 = ${(commitToFirstAttempt.p99 / receiverRoundTrip.p99).toFixed(1)}`,
          `  receiver: ${receiverCounts.verified} verified, ${receiverCounts.duplicates} duplicates, ${receiverCounts.rejected} rejected`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
        if (receiverCounts.rejected || commitToFirstAttempt.missing || bareLoop.errors) process.exitCode = 1;
        return {
          inFlight: IN_FLIGHT,
          rate: RATE,
          seconds: k.seconds,
          warmupSeconds: k.warmupSeconds,
          deliveries,
          bareLoop,
          ratio,
          cpuPerDelivery,
          target: TARGET,
          pass: ratio >= TARGET,
          commitToFirstAttempt,
          receiverRoundTrip,
          receiver: receiverCounts,
          table: lines,
        };
      },
      {
        env: { IDFLOW_WEBHOOK_ALLOWED_NETWORKS: 'loopback', IDFLOW_WEBHOOK_CONCURRENCY: String(Math.max(32, IN_FLIGHT)), IDFLOW_WEBHOOK_CONCURRENCY_PER_ENDPOINT: String(IN_FLIGHT) },
        compared: false,
      },
    );
  } finally {
    await receiver?.stop().catch(() => {});
  }
}

await main();
