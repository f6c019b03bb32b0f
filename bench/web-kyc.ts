// Web KYC hand-over throughput and latency: one "pair" is what an operator's backend does
// after a person verified, `POST /v2/web-kyc/token` (code → token) then
// `GET /v2/web-kyc/details` (token → document details and images), at 32 keep-alive
// connections on PostgreSQL. Used by bench/run.ts through runWebKycBench(); run on its own
// (`npx node bench/web-kyc.ts`) it makes its own database and server process and prints
// the figure.
import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Pool } from 'undici';
import { webKycOf } from '../src/kyc/index.ts';
import { continuePath, webKycFlow, type WebKycData, type WebKycState } from '../src/kyc/web-kyc-flow.ts';
import { saveWebKycSettings } from '../src/kyc/web-kyc-settings.ts';
import type { Services } from '../src/services.ts';
import { normaliseImage } from '../src/verification/documents/index.ts';
import { imageLimits } from '../src/verification/registry.ts';
import { measure, type Measurement, type Worker } from './lib/load.ts';
import { freePort, startProcess } from './lib/processes.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const BENCH_WEB_KYC_CLIENT = 'bench-web-kyc';
const REDIRECT_URI = 'https://bench.example.com/kyc/result';

export interface WebKycBenchOptions {
  /** Where idflow answers, e.g. http://127.0.0.1:4000. */
  baseUrl: string;
  /**
   * The platform opened in this process on the same database and sealing keys as the
   * server: the verifications and codes are made through it, before the clock starts.
   */
  services: Services;
  connections?: number;
  warmupMs?: number;
  durationMs?: number;
  maxRequests?: number;
  /** Codes to make for the run; each pair uses one. Default: what a one-second calibration run says the window needs. */
  codes?: number;
  /** Verified verifications the codes share (their details and images are what /details returns). */
  verifications?: number;
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
  log?: (line: string) => void;
}

export interface WebKycBenchResult {
  /** Token + details pairs: rates count pairs, latency is the whole pair's. */
  pairs: Measurement;
  connections: number;
  codes: number;
  verifications: number;
  /** Bytes of one /details answer (two base64 JPEGs and the details). */
  detailsBytes: number;
}

/** A code lives 60 s: issuing the codes and using them must both fit in that. */
const CODE_LIFETIME_MS = 60_000;

/**
 * Measures code exchange + details retrieval. Codes are made just before the measurement
 * (they live 60 s) through the core's own steps: a flow per code, its verification verified
 * with two document JPEGs, the code issued as the person's return issues it. A short
 * calibration run first tells how many codes the window will use.
 */
export async function runWebKycBench(options: WebKycBenchOptions): Promise<WebKycBenchResult> {
  const connections = options.connections ?? 32;
  const warmupMs = options.warmupMs ?? 2000;
  const durationMs = options.durationMs ?? 10_000;
  const log = options.log ?? (() => {});
  const { services } = options;
  if (warmupMs + durationMs > CODE_LIFETIME_MS / 2) throw new Error('warm-up + window must stay under 30 s: the codes live 60 s');

  const { secret, verificationIds: all } = await prepareVerifications(services, (options.verifications ?? 64) + 4, log);
  // The calibration's unused codes expire (and are purged, details and all) during the run:
  // they get verifications of their own.
  const verificationIds = all.slice(4);
  const calibrationIds = all.slice(0, 4);
  const pool = new Pool(options.baseUrl, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  let detailsBytes = 0;
  /** One closed-loop load over the given codes. */
  const load = (codes: string[], window: { warmupMs: number; durationMs: number; maxRequests: number }, probes: boolean) => {
    let next = 0;
    const worker = (): Worker => ({
      request: async () => {
        const code = codes[next++];
        if (!code) {
          // Never spin: a worker with nothing to send waits, so the window's timers still fire.
          await new Promise((resolve) => setTimeout(resolve, 100));
          return 'no code left (ask for more codes)';
        }
        const exchanged = await pool.request({
          method: 'POST',
          path: '/v2/web-kyc/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grantType: 'authorization_code', code, redirectUri: REDIRECT_URI, clientId: BENCH_WEB_KYC_CLIENT, clientSecret: secret }).toString(),
        });
        const tokenText = await exchanged.body.text();
        if (exchanged.statusCode !== 200) return `token ${exchanged.statusCode} ${tokenText.slice(0, 200)}`;
        const { token } = JSON.parse(tokenText) as { token: string };
        const details = await pool.request({ method: 'GET', path: '/v2/web-kyc/details', headers: { authorization: `Bearer ${token}` } });
        const text = await details.body.text();
        if (details.statusCode !== 200) return `details ${details.statusCode} ${text.slice(0, 200)}`;
        const body = JSON.parse(text) as { details?: { documentNumber?: string }; croppedDocs?: { front?: string } };
        if (body.details?.documentNumber !== 'C01X00T47' || !body.croppedDocs?.front?.startsWith('/9j/')) return `details 200 without the document: ${text.slice(0, 200)}`;
        detailsBytes = text.length;
        return undefined;
      },
    });
    return measure({
      ...window,
      workers: Array.from({ length: connections }, worker),
      ...(probes ? { onWindowStart: options.onWindowStart, onWindowEnd: options.onWindowEnd } : {}),
    });
  };

  try {
    let codesWanted = options.codes;
    if (codesWanted === undefined) {
      const sample = await makeCodes(services, calibrationIds, 40 * connections, log);
      const trial = await load(sample.codes, { warmupMs: 2000, durationMs: 3000, maxRequests: sample.codes.length }, false);
      const perSecond = Math.max(trial.perSecond, 10);
      const issuedPerSecond = sample.codes.length / (sample.issueMs / 1000);
      // A cold server calibrates low: the real run gets three times what the trial suggests.
      const needed = Math.ceil((perSecond * (warmupMs + durationMs) * 3) / 1000) + 16 * connections;
      // Issuing must leave the whole window inside the codes' lifetime.
      const affordable = Math.floor(issuedPerSecond * ((CODE_LIFETIME_MS * 0.9 - warmupMs - durationMs) / 1000));
      codesWanted = Math.min(needed, affordable);
      log(`calibration: ~${perSecond.toFixed(0)} pairs/s, ~${issuedPerSecond.toFixed(0)} codes issued/s: ${codesWanted} codes${codesWanted < needed ? ` (fewer than the ${needed} wanted: the window may run out)` : ''}`);
    }
    const { codes, issueMs } = await makeCodes(services, verificationIds, codesWanted, log);
    if (issueMs + warmupMs + durationMs > CODE_LIFETIME_MS) throw new Error('issuing the codes took too long: ask for fewer');
    log(`Web KYC POST /v2/web-kyc/token + GET /v2/web-kyc/details: ${connections} connections, ${codes.length} codes`);
    const pairs = await load(codes, { warmupMs, durationMs, maxRequests: options.maxRequests ?? 1_000_000 }, true);
    return { pairs, connections, codes: codes.length, verifications: verificationIds.length, detailsBytes };
  } finally {
    await pool.close();
  }
}

/**
 * The ceiling of the same pair: `bench/ping-server.ts`'s `POST /pair/token` and
 * `GET /pair/details` (a prebuilt body of `bodyBytes`), no work behind either, with the same
 * connections, form body, window and load generator. What moving the bytes costs here.
 */
export async function runPairCeiling(options: { baseUrl: string; bodyBytes: number; connections: number; warmupMs: number; durationMs: number; maxRequests: number }): Promise<Measurement> {
  const pool = new Pool(options.baseUrl, { connections: options.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const worker = (): Worker => ({
    request: async () => {
      const exchanged = await pool.request({
        method: 'POST',
        path: '/pair/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grantType: 'authorization_code', code: randomBytes(32).toString('hex'), redirectUri: REDIRECT_URI, clientId: BENCH_WEB_KYC_CLIENT, clientSecret: 'x'.repeat(43) }).toString(),
      });
      const tokenText = await exchanged.body.text();
      if (exchanged.statusCode !== 200) return `token ${exchanged.statusCode}`;
      const { token } = JSON.parse(tokenText) as { token: string };
      const details = await pool.request({ method: 'GET', path: '/pair/details', headers: { authorization: `Bearer ${token}` } });
      const text = await details.body.text();
      if (details.statusCode !== 200 || text.length !== options.bodyBytes) return `details ${details.statusCode}, ${text.length} bytes`;
      JSON.parse(text);
      return undefined;
    },
  });
  try {
    return await measure({ warmupMs: options.warmupMs, durationMs: options.durationMs, maxRequests: options.maxRequests, workers: Array.from({ length: options.connections }, worker) });
  } finally {
    await pool.close();
  }
}

/** Flows ready for their codes (untimed), then the codes issued together, just before use. */
async function makeCodes(services: Services, verificationIds: string[], count: number, log: (line: string) => void): Promise<{ codes: string[]; issueMs: number }> {
  const flows = await prepareFlows(services, verificationIds, count, log);
  const started = Date.now();
  const codes = await issueCodes(services, flows);
  const issueMs = Date.now() - started;
  log(`issued ${codes.length} codes in ${issueMs} ms`);
  return { codes, issueMs };
}

/** A document photo (640×404, an ID-1 card's proportions), drawn here and normalised as an upload is. */
async function documentJpeg(services: Services, seed: number) {
  const width = 640;
  const height = 404;
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const stripe = ((x >> 3) + (y >> 4) + seed) % 7 === 0 ? 60 : 0;
      pixels[o] = 200 - stripe + ((x * 31 + y * 17 + seed) % 23);
      pixels[o + 1] = 210 - stripe + ((x * 7 + y * 13) % 19);
      pixels[o + 2] = 230 - stripe + ((x * 11 + y * 5) % 17);
    }
  }
  const png = await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
  const normalised = await normaliseImage(png, imageLimits(services.config.verification));
  if (!normalised.ok) throw new Error(`the bench's document image is refused: ${normalised.reason}`);
  return normalised.image;
}

async function prepareVerifications(services: Services, count: number, log: (line: string) => void) {
  const client = await services.clients.save({ clientId: BENCH_WEB_KYC_CLIENT, name: 'Bench Web KYC', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code'], scope: 'openid' });
  await saveWebKycSettings(services.repos.clients, BENCH_WEB_KYC_CLIENT, { enabled: true, provider: 'sandbox' });
  // The secret is generated for a new client only; a rerun on the same database pins a new one.
  const secret = client.secret ?? randomBytes(32).toString('base64url');
  if (!client.secret) await services.clients.save({ clientId: BENCH_WEB_KYC_CLIENT, name: 'Bench Web KYC', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code'], scope: 'openid', secret });
  const front = await documentJpeg(services, 1);
  const back = await documentJpeg(services, 2);
  log(`${count} verified verifications (document images ${front.length} and ${back.length} bytes)`);
  const verificationIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const { verification } = await services.verification.start({ provider: 'sandbox', clientId: BENCH_WEB_KYC_CLIENT, returnTo: '/' });
    const now = services.clock.now();
    await services.verification.settle(verification.id, {
      outcome: 'verified',
      document: {
        documentType: 'passport',
        documentNumber: 'C01X00T47',
        issuingCountry: 'DEU',
        givenNames: 'ANNA MARIA',
        surname: 'SCHMIDT',
        dateOfBirth: '1987-01-12',
        nationality: 'DEU',
        dateOfIssue: '2021-01-30',
        dateOfExpiry: '2031-01-30',
        sex: 'F',
      },
      images: { documentFront: front, documentBack: back },
      checks: [{ check_method: 'vri', organization: 'idflow', time: now.toISOString() }],
      providerTxn: verification.id,
      verifiedAt: now,
    });
    verificationIds.push(verification.id);
  }
  return { secret, verificationIds };
}

/**
 * One Web KYC flow per code, at the point where the person has verified and is on the way
 * back (state `verifying`). Many flows share one verification so the
 * setup stays quick; each flow still gets its own code and token.
 */
async function prepareFlows(services: Services, verificationIds: string[], count: number, log: (line: string) => void): Promise<PreparedFlow[]> {
  const started = Date.now();
  const flows: PreparedFlow[] = new Array(count);
  await inParallel(count, 16, async (i) => {
    const verificationId = verificationIds[i % verificationIds.length]!;
    const flow = await services.flows.start(webKycFlow, {
      clientId: BENCH_WEB_KYC_CLIENT,
      data: { redirectUri: REDIRECT_URI, state: `bench-${i}` } satisfies WebKycData,
      context: { provider: 'sandbox' },
      bindBrowser: true,
    });
    await services.flows.transition<WebKycState, WebKycData>(webKycFlow, flow, 'verifying', { context: { ...flow.context, verificationId } });
    flows[i] = { id: flow.id, browserSecret: flow.browserSecret! };
  });
  log(`prepared ${count} flows in ${Date.now() - started} ms`);
  return flows;
}

/** A prepared flow and the secret of the browser it is bound to (the person's cookie). */
interface PreparedFlow {
  id: string;
  browserSecret: string;
}

/** The person's return for every flow, as GET …/continue runs it: each issues its code. */
async function issueCodes(services: Services, flows: PreparedFlow[]): Promise<string[]> {
  const webKyc = webKycOf(services);
  const codes: string[] = new Array(flows.length);
  await inParallel(flows.length, 16, async (i) => {
    const flow = flows[i]!;
    const outcome = await webKyc.resume(flow.id, { browserSecret: flow.browserSecret });
    if (outcome.kind !== 'redirect') throw new Error(`flow ${flow.id} did not issue a code (${outcome.kind}; ${continuePath(flow.id)})`);
    codes[i] = new URL(outcome.location).searchParams.get('code')!;
  });
  return codes;
}

async function inParallel(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Standalone (and the third part of `npm run bench`): its own database and server process. */
async function main(): Promise<void> {
  const { runStandalone } = await import('./lib/standalone.ts');
  await runStandalone('web-kyc', async () => undefined, async ({ services, server, k, log, window }) => {
    const result = await runWebKycBench({
      baseUrl: server.url,
      services,
      connections: k.connections,
      warmupMs: k.warmupSeconds * 1000,
      durationMs: k.seconds * 1000,
      maxRequests: k.maxRequests,
      ...(process.env.BENCH_WEB_KYC_CODES ? { codes: Number(process.env.BENCH_WEB_KYC_CODES) } : {}),
      onWindowStart: () => window.start('pairs'),
      onWindowEnd: () => window.end('pairs'),
      log,
    });
    const cores = availableParallelism();
    const m = result.pairs;
    const line = (label: string, x: Measurement) =>
      `${label}: ${x.perSecond.toFixed(0)} pairs/s (${(x.perSecond / cores).toFixed(0)}/core on ${cores} cores), p50 ${x.latency.p50.toFixed(2)} ms, p99 ${x.latency.p99.toFixed(2)} ms, ${x.requests} pairs, ${x.errors} errors${x.errorSamples.length ? ` ${JSON.stringify(x.errorSamples)}` : ''}\n`;
    process.stdout.write(line('Web KYC token + details', m));

    // The baseline, in the same run: bare Fastify answering the same pair with a body of the same size.
    const port = await freePort();
    const ceilingServer = await startProcess({ args: ['bench/ping-server.ts'], env: { PORT: String(port), PAIR_BODY_BYTES: String(result.detailsBytes) }, cwd: ROOT, port, readyPath: '/ping', logFile: join(tmpdir(), `idflow-bench-ceiling-${port}.log`) });
    let ceiling: Measurement;
    try {
      ceiling = await runPairCeiling({ baseUrl: ceilingServer.url, bodyBytes: result.detailsBytes, connections: k.connections, warmupMs: k.warmupSeconds * 1000, durationMs: k.seconds * 1000, maxRequests: k.maxRequests });
    } finally {
      await ceilingServer.stop();
    }
    process.stdout.write(line(`bare Fastify, same pair (${result.detailsBytes}-byte body)`, ceiling));
    process.stdout.write(`ratio idflow / bare Fastify: ${(m.perSecond / ceiling.perSecond).toFixed(2)}\n`);
    const target = m.perSecond / cores >= 1000 && m.latency.p99 < 25;
    process.stdout.write(`target >= 1,000 pairs/s per core with p99 < 25 ms: ${target ? 'PASS' : 'FAIL'}${ceiling.perSecond / cores < 1000 || ceiling.latency.p99 >= 25 ? ' (beyond this machine: the bare Fastify pair above does not reach it either)' : ''}\n`);
    if (m.errors || ceiling.errors) process.exitCode = 1;
    return { ...result, ceiling, ratio: m.perSecond / ceiling.perSecond };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
