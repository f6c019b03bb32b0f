// 1-Click throughput and latency: Non-Hosted `POST /1-click` (one request is one flow) and
// Semi-Hosted `POST /1-click` + `GET /1-click/{uuid}?code=` (two requests are one flow), at
// 32 keep-alive connections against sandbox brands. Used by bench/run.ts through
// runOneClickBench(); run on its own (`npx node bench/one-click.ts`) it makes its own
// PostgreSQL database and server process and prints the figures.
import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { Services } from '../src/services.ts';
import { measure, type Measurement, type Worker } from './lib/load.ts';

export interface OneClickBenchOptions {
  /** Where idflow answers, e.g. http://127.0.0.1:4000. */
  baseUrl: string;
  /** API key of a non_hosted brand in the sandbox environment. */
  nonHostedKey: string;
  /** API key of a semi_hosted brand in the sandbox environment. */
  semiHostedKey: string;
  connections?: number;
  warmupMs?: number;
  durationMs?: number;
  maxRequests?: number;
  /** Called around each measured window (CPU probes hang here), with the figure's key. */
  onWindowStart?: (figure: 'nonHosted' | 'semiHosted') => void;
  onWindowEnd?: (figure: 'nonHosted' | 'semiHosted') => void;
  log?: (line: string) => void;
}

export interface OneClickBenchResult {
  /** One request per flow: flows/s = requests/s. */
  nonHosted: Measurement;
  /** POST + GET per flow; latency is the whole flow's, rates count flows. */
  semiHosted: Measurement;
  connections: number;
}

/**
 * Each flow uses a phone of its own: a phone with an open request refuses a second one
 * (OCE016), and the sandbox answers any well-formed +1 number with mock data. Numbers come
 * from +1303xxxxxxx, outside every documented test number.
 */
function phones(): () => string {
  let next = randomInt(0, 9_000_000);
  return () => `+1303${String(next++ % 10_000_000).padStart(7, '0')}`;
}

export async function runOneClickBench(options: OneClickBenchOptions): Promise<OneClickBenchResult> {
  const connections = options.connections ?? 32;
  const window = { warmupMs: options.warmupMs ?? 2000, durationMs: options.durationMs ?? 10_000, maxRequests: options.maxRequests ?? 1_000_000 };
  const log = options.log ?? (() => {});
  const phone = phones();
  const pool = new Pool(options.baseUrl, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  try {
    const post = async (key: string, number: string) => {
      const res = await pool.request({
        method: 'POST',
        path: '/1-click',
        headers: { authorization: key, 'content-type': 'application/json' },
        body: JSON.stringify({ phone: number }),
      });
      return { status: res.statusCode, text: await res.body.text() };
    };

    log(`1-Click Non-Hosted POST /1-click: ${connections} connections`);
    const nonHostedWorker = (): Worker => ({
      request: async () => {
        const number = phone();
        const { status, text } = await post(options.nonHostedKey, number);
        if (status !== 201) return `POST ${status} ${text.slice(0, 200)}`;
        const body = JSON.parse(text) as { uuid?: string; identity?: { identifiers?: { phone?: string } } };
        return body.uuid && body.identity?.identifiers?.phone === number ? undefined : `POST 201 without the identity: ${text.slice(0, 200)}`;
      },
    });
    const nonHosted = await measure({
      ...window,
      workers: Array.from({ length: connections }, nonHostedWorker),
      onWindowStart: () => options.onWindowStart?.('nonHosted'),
      onWindowEnd: () => options.onWindowEnd?.('nonHosted'),
    });

    log(`1-Click Semi-Hosted POST + GET ?code=: ${connections} connections`);
    const semiHostedWorker = (): Worker => ({
      request: async () => {
        const number = phone();
        const started = await post(options.semiHostedKey, number);
        if (started.status !== 201) return `POST ${started.status} ${started.text.slice(0, 200)}`;
        const { uuid, code } = JSON.parse(started.text) as { uuid: string; code: string };
        const res = await pool.request({ method: 'GET', path: `/1-click/${uuid}?code=${code}`, headers: { authorization: options.semiHostedKey } });
        const text = await res.body.text();
        if (res.statusCode !== 200) return `GET ${res.statusCode} ${text.slice(0, 200)}`;
        return (JSON.parse(text) as { identifiers?: { phone?: string } }).identifiers?.phone === number ? undefined : `GET 200 with another identity: ${text.slice(0, 200)}`;
      },
    });
    const semiHosted = await measure({
      ...window,
      workers: Array.from({ length: connections }, semiHostedWorker),
      onWindowStart: () => options.onWindowStart?.('semiHosted'),
      onWindowEnd: () => options.onWindowEnd?.('semiHosted'),
    });
    return { nonHosted, semiHosted, connections };
  } finally {
    await pool.close();
  }
}

export const BENCH_NON_HOSTED_CLIENT = 'bench-1click-non-hosted';
export const BENCH_SEMI_HOSTED_CLIENT = 'bench-1click-semi-hosted';

/** The two sandbox brands the bench calls, made through the core as the CLI would; returns their keys. */
export async function createOneClickBenchBrands(services: Services): Promise<{ nonHostedKey: string; semiHostedKey: string }> {
  for (const [clientId, integration] of [
    [BENCH_NON_HOSTED_CLIENT, 'non_hosted'],
    [BENCH_SEMI_HOSTED_CLIENT, 'semi_hosted'],
  ] as const) {
    await services.clients.save({ clientId, name: `Bench 1-Click ${integration}`, oneClick: { integration, environment: 'sandbox' } });
  }
  return {
    nonHostedKey: (await services.apiKeys.create(BENCH_NON_HOSTED_CLIENT)).key,
    semiHostedKey: (await services.apiKeys.create(BENCH_SEMI_HOSTED_CLIENT)).key,
  };
}

/** Standalone (and the second part of `npm run bench`): its own database and server process. */
async function main(): Promise<void> {
  const { runStandalone } = await import('./lib/standalone.ts');
  await runStandalone('one-click', createOneClickBenchBrands, async ({ server, prepared, k, log, window }) => {
    const result = await runOneClickBench({
      baseUrl: server.url,
      ...prepared,
      connections: k.connections,
      warmupMs: k.warmupSeconds * 1000,
      durationMs: k.seconds * 1000,
      maxRequests: k.maxRequests,
      onWindowStart: window.start,
      onWindowEnd: window.end,
      log,
    });
    const cores = availableParallelism();
    for (const [name, m] of [
      ['Non-Hosted POST /1-click', result.nonHosted],
      ['Semi-Hosted POST + GET', result.semiHosted],
    ] as const) {
      process.stdout.write(
        `${name}: ${m.perSecond.toFixed(0)} flows/s (${(m.perSecond / cores).toFixed(0)}/core on ${cores} cores), ` +
          `p50 ${m.latency.p50.toFixed(2)} ms, p99 ${m.latency.p99.toFixed(2)} ms, ${m.requests} flows, ${m.errors} errors${m.errorSamples.length ? ` ${JSON.stringify(m.errorSamples)}` : ''}\n`,
      );
    }
    const target = result.nonHosted.perSecond / cores >= 500 && result.nonHosted.latency.p99 < 50;
    process.stdout.write(`target Non-Hosted >= 500 flows/s per core with p99 < 50 ms: ${target ? 'PASS' : 'FAIL'}\n`);
    if (result.nonHosted.errors || result.semiHosted.errors) process.exitCode = 1;
    return { connections: result.connections, nonHosted: result.nonHosted, semiHosted: result.semiHosted };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
