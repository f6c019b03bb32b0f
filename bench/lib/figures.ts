// How each figure is measured, for one run of one tree or for a comparison of two: the
// closed-loop HTTP windows with their CPU probes, and the workers of (a), (b), (c), (d), (e)
// and (f)/(g). A figure only needs a running server (or a tree to run argon2 in), so the same
// code measures the current tree and an older one.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import { CpuProbe, type CpuShare } from './cpu.ts';
import { CONFIDENTIAL_CLIENT, CC_SCOPE, PUBLIC_CLIENT, type BenchUser } from './idflow-server.ts';
import { measure, type Measurement, type Worker } from './load.ts';
import { freePort, startProcess, type ServerProcess } from './processes.ts';
import { nowUs, type Span } from './profile.ts';
import type { Figure } from './report.ts';
import type { Knobs } from './settings.ts';
import type { Teardown } from './teardown.ts';

export interface Argon2Params {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

/** What each figure is called in tables and logs. */
export const LABELS = {
  argon2: '(a) argon2id hash, raw (PasswordHasher)',
  signIn: '(b) password sign-in POST /reg/auth/token',
  refresh: '(c) refresh_token grant POST /oauth/token',
  clientCredentials: '(d) client_credentials grant POST /oauth/token',
  ping: '(e) bare Fastify GET /ping (ceiling)',
  refreshAlone: '(f) refresh_token, oidc-provider alone (in memory)',
  clientCredentialsAlone: '(g) client_credentials, oidc-provider alone',
} as const;

/** Starts a chain of refresh tokens: returns the first one. */
export type ChainStart = (pool: Pool, index: number) => Promise<string>;

type MakeWorker = (index: number, pool: Pool) => Worker | ((pool: Pool) => Promise<string | undefined>);

export class Figures {
  readonly cores = availableParallelism();
  /** The measured window of each HTTP figure, to cut a server's CPU profile to it. */
  readonly spans = new Map<string, Span>();
  readonly #k: Knobs;
  readonly #log: (line: string) => void;
  readonly #teardown: Teardown;

  constructor(k: Knobs, teardown: Teardown, log: (line: string) => void) {
    this.#k = k;
    this.#teardown = teardown;
    this.#log = log;
  }

  /**
   * (a) argon2id, raw: the tree's own PasswordHasher and parameters, in a process of its own
   * with the server's thread pool size, enough hashes in flight to keep every pool thread busy.
   */
  async argon2(root: string, env: Record<string, string>): Promise<Figure & { params: Argon2Params }> {
    const k = this.#k;
    this.#log(`(a) argon2id, ${k.argon2InFlight} in flight, ${k.warmupSeconds} s warm-up + ${k.seconds} s (${root})`);
    const hashing = promisify(execFile)(process.execPath, ['bench/argon2.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...env,
        BENCH_ARGON2_IN_FLIGHT: String(k.argon2InFlight),
        BENCH_WARMUP_SECONDS: String(k.warmupSeconds),
        BENCH_SECONDS: String(k.seconds),
        BENCH_MAX_REQUESTS: String(k.maxRequests),
      },
    });
    const stop = this.#teardown.add('the argon2id process', async () => void hashing.child.kill());
    const { stdout } = await hashing.finally(() => stop());
    const argon = JSON.parse(stdout) as Measurement & { cpu: CpuShare; params: Argon2Params };
    const { params, ...measured } = argon;
    return { ...this.#figure('argon2', LABELS.argon2, k.argon2InFlight, measured, argon.cpu), params };
  }

  /**
   * (b) password sign-in through Vault's door: one argon2id verification per request, plus
   * the grant and two tokens written, plus the owner lookup.
   */
  signIn(idflow: ServerProcess, users: BenchUser[]): Promise<Figure> {
    return this.http('signIn', LABELS.signIn, idflow, this.#k.signInConnections, (i) => async (pool) => {
      const user = users[i % users.length]!;
      const res = await pool.request({
        method: 'POST',
        path: '/reg/auth/token',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'password', username: user.username, password: user.password, client_id: PUBLIC_CLIENT }),
      });
      return tokenProblem(res.statusCode, await res.body.text(), 'refresh_token');
    });
  }

  /**
   * (c) refresh_token grant, chained: each connection presents the refresh token its previous
   * request got back (they rotate and are single use), as an app keeping a session does. Each
   * chain starts before the clock does.
   */
  async refresh(target: ServerProcess, key: string, label: string, startChain: ChainStart): Promise<Figure> {
    const k = this.#k;
    const pool = new Pool(target.url, { connections: k.threadpool });
    const firstTokens = await Promise.all(Array.from({ length: k.connections }, (_, i) => startChain(pool, i))).finally(() => pool.close());
    return this.http(key, label, target, k.connections, (i, pool) => {
      let token: string | undefined = firstTokens[i];
      return {
        // A failed request may have used its token up: that chain starts again.
        prepare: async () => {
          token ??= await startChain(pool, i);
        },
        request: async () => {
          const res = await pool.request({
            method: 'POST',
            path: '/oauth/token',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `grant_type=refresh_token&client_id=${PUBLIC_CLIENT}&refresh_token=${encodeURIComponent(token!)}`,
          });
          const text = await res.body.text();
          const problem = tokenProblem(res.statusCode, text, 'refresh_token');
          token = problem ? undefined : (JSON.parse(text) as { refresh_token: string }).refresh_token;
          return problem;
        },
      };
    });
  }

  /** (d) client_credentials grant, the confidential client authenticating with HTTP Basic. */
  clientCredentials(target: ServerProcess, key: string, label: string, secret: string): Promise<Figure> {
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(CONFIDENTIAL_CLIENT)}:${encodeURIComponent(secret)}`).toString('base64')}`;
    return this.http(key, label, target, this.#k.connections, () => async (pool) => {
      const res = await pool.request({
        method: 'POST',
        path: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: `grant_type=client_credentials&scope=${encodeURIComponent(CC_SCOPE)}`,
      });
      return tokenProblem(res.statusCode, await res.body.text());
    });
  }

  /** (e) the ceiling: a bare Fastify route (`startPing`). */
  ping(server: ServerProcess): Promise<Figure> {
    return this.http('ping', LABELS.ping, server, this.#k.connections, () => async (pool) => {
      const res = await pool.request({ method: 'GET', path: '/ping' });
      const body = await res.body.text();
      return res.statusCode === 200 && body === '{"ok":true}' ? undefined : `${res.statusCode} ${body.slice(0, 200)}`;
    });
  }

  /** One HTTP measurement: a keep-alive pool of `connections`, one closed-loop worker per connection. */
  async http(key: string, label: string, target: ServerProcess, connections: number, makeWorker: MakeWorker): Promise<Figure> {
    const k = this.#k;
    this.#log(`${label}: ${connections} connections, ${k.warmupSeconds} s warm-up + ${k.seconds} s`);
    const pool = new Pool(target.url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
    const probe = new CpuProbe(() => target.pids());
    try {
      const workers = Array.from({ length: connections }, (_, i): Worker => {
        const made = makeWorker(i, pool);
        return typeof made === 'function' ? { request: () => made(pool) } : made;
      });
      const span = { fromUs: 0, toUs: 0 };
      const m = await measure({
        warmupMs: k.warmupSeconds * 1000,
        durationMs: k.seconds * 1000,
        maxRequests: k.maxRequests,
        workers,
        onWindowStart: () => {
          span.fromUs = nowUs();
          probe.start();
        },
        onWindowEnd: () => {
          probe.stop();
          span.toUs = nowUs();
        },
      });
      this.spans.set(key, span);
      const died = target.exited();
      if (died) throw new Error(died);
      return this.#figure(key, label, connections, m, probe.result);
    } finally {
      await pool.close();
    }
  }

  #figure(key: string, label: string, concurrency: number, m: Measurement, cpu: CpuShare | undefined): Figure {
    const f: Figure = {
      key,
      label,
      concurrency,
      ...m,
      perCore: m.perSecond / this.cores,
      perServerCpuSecond: cpu?.server ? m.perSecond / cpu.server : null,
      ...this.#cpuPerRequest(m.perSecond, cpu),
      cpu: cpu ?? null,
    };
    this.#log(`${label}: ${m.perSecond.toFixed(1)}/s, p50 ${m.latency.p50.toFixed(2)} ms, p99 ${m.latency.p99.toFixed(2)} ms, ${m.errors} errors`);
    return f;
  }

  /**
   * CPU spent per request by the server, PostgreSQL and the load generator, and the rate those
   * three would reach if they had every core of this machine to themselves and only CPU limited
   * them. On a machine shared with other work that estimate, not the measured rate, says what a
   * quiet machine of this size would do; it ignores waiting (fsync, locks), so it is an upper bound.
   */
  #cpuPerRequest(perSecond: number, cpu: CpuShare | undefined): Pick<Figure, 'cpuMsPerRequest' | 'cpuBoundEstimate'> {
    if (!cpu || cpu.server === null || cpu.postgres === null || !(perSecond > 0)) return { cpuMsPerRequest: null, cpuBoundEstimate: null };
    const ms = (cores: number) => (cores / perSecond) * 1000;
    const total = ms(cpu.server) + ms(cpu.postgres) + ms(cpu.loadGenerator);
    return {
      cpuMsPerRequest: { server: ms(cpu.server), postgres: ms(cpu.postgres), loadGenerator: ms(cpu.loadGenerator), total },
      cpuBoundEstimate: total > 0 ? (this.cores * 1000) / total : null,
    };
  }
}

/** A refresh chain on idflow starts from a password sign-in, as an app's session does. */
export function signInChain(users: BenchUser[]): ChainStart {
  return async (pool, i) => {
    const user = users[i % users.length]!;
    const res = await pool.request({
      method: 'POST',
      path: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: user.username, password: user.password, client_id: PUBLIC_CLIENT }).toString(),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`password grant for a refresh token failed: ${res.statusCode} ${text.slice(0, 200)}`);
    return (JSON.parse(text) as { refresh_token: string }).refresh_token;
  };
}

/** (e)'s bare Fastify route in a process of its own (`bench/ping-server.ts`). */
export async function startPing(root: string, logFile: string): Promise<ServerProcess> {
  const port = await freePort();
  return startProcess({ args: ['bench/ping-server.ts'], env: { PORT: String(port) }, cwd: root, port, readyPath: '/ping', logFile });
}

export interface LibraryAlone extends ServerProcess {
  /** The confidential client's secret, for (g). */
  secret: string;
  /** (f)'s chains start from refresh tokens the library mints directly. */
  mint: ChainStart;
}

/**
 * (f), (g): oidc-provider alone, in memory (`bench/oidc-provider-alone.ts`), started from
 * `root` so that it runs on that tree's own oidc-provider and Fastify.
 */
export async function startLibraryAlone(root: string, logFile: string): Promise<LibraryAlone> {
  const port = await freePort();
  const secret = randomBytes(24).toString('base64url');
  const server = await startProcess({ args: ['bench/oidc-provider-alone.ts'], env: { PORT: String(port), BENCH_CLIENT_SECRET: secret }, cwd: root, port, readyPath: '/ping', logFile });
  const mint: ChainStart = async (pool) => {
    const res = await pool.request({ method: 'POST', path: '/bench/refresh-token' });
    return ((await res.body.json()) as { refresh_token: string }).refresh_token;
  };
  return { ...server, secret, mint };
}

/** undefined when the answer is a 200 with an access token (and `also`, when named). */
function tokenProblem(status: number, text: string, also?: string): string | undefined {
  if (status !== 200) return `${status} ${text.slice(0, 200)}`;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    if (typeof body.access_token !== 'string') return '200 without access_token';
    if (also && typeof body[also] !== 'string') return `200 without ${also}`;
    return undefined;
  } catch {
    return '200 with a body that is not JSON';
  }
}
