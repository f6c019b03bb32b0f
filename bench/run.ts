// `npm run bench`: throughput and latency of idflow's hot paths on PostgreSQL, read against
// the cost of argon2id and against a bare Fastify route on the same machine. bench/README.md
// says what each figure is and how to read the result file.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import { loadConfig } from '../src/config/index.ts';
import { openPlatform } from '../src/bootstrap.ts';
import { createLogger } from '../src/kernel/logger.ts';
import { createBenchDatabase, postgresVersion, type BenchDatabase } from './lib/database.ts';
import { CpuProbe, type CpuShare } from './lib/cpu.ts';
import { measure, type Measurement, type Worker } from './lib/load.ts';
import { freePort, startProcess, type ServerProcess } from './lib/processes.ts';
import { newestProfile, nowUs, summarizeProfile, type ProfileSummary, type Span } from './lib/profile.ts';
import { gitState, knobs, type Knobs } from './lib/settings.ts';
import { evaluate, printReport, type Figure, type Report, type RunFacts } from './lib/report.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');

const PUBLIC_CLIENT = 'bench-mobile';
const CONFIDENTIAL_CLIENT = 'bench-service';
const CC_SCOPE = 'api:read';

const k: Knobs = knobs();
const cores = availableParallelism();
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
/** The measured window of each HTTP figure, to cut the server's CPU profile to it. */
const spans = new Map<string, Span>();
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const database = await createBenchDatabase();
let server: ServerProcess | undefined;
const cleanUp = async () => {
  await server?.stop().catch(() => {});
  if (!k.keepDatabase) await database.drop().catch((error) => log(`could not drop ${database.name}: ${(error as Error).message}`));
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping and dropping ${database.name}`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  const report = await runAll(database);
  const text = printReport(report);
  process.stdout.write(text);
  await mkdir(RESULTS, { recursive: true });
  const file = join(RESULTS, `${stamp}.json`);
  const json = `${JSON.stringify({ ...report, table: text.split('\n') }, null, 2)}\n`;
  await writeFile(file, json);
  await writeFile(join(RESULTS, 'latest.json'), json);
  process.stdout.write(`saved ${relative(ROOT, file)} and bench/results/latest.json\n`);
  if (!report.ok) {
    log('FAILED: a request went wrong (see the errors column); the figures are not valid');
    process.exitCode = 1;
  }
} finally {
  await cleanUp();
}

async function runAll(db: BenchDatabase): Promise<Report> {
  const port = await freePort();
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    IDFLOW_SEALING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    IDFLOW_DATA_DIR: join(tmpdir(), `${db.name}-data`),
    IDFLOW_ISSUER: `http://127.0.0.1:${port}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: k.serverLogLevel,
    // All sign-ins succeed, so nothing should be throttled; the limits are raised anyway so
    // that a run can never measure the throttle instead of the sign-in.
    IDFLOW_SIGNIN_IP_FAILURES: '100000',
    IDFLOW_SIGNIN_ACCOUNT_FAILURES: '1000',
    UV_THREADPOOL_SIZE: String(k.threadpool),
  };
  const config = loadConfig({ ...process.env, ...env });
  const logFile = join(tmpdir(), `${db.name}.log`);
  log(`database ${db.name}; server log ${logFile}`);

  // Each idflow figure gets a fresh server process, started as `npm start` starts it; with
  // BENCH_PROFILE=1 it runs under --cpu-prof and the profile is summarised in the output.
  const profiles: Record<string, ProfileSummary> = {};
  const withIdflow = async <T>(key: string, fn: (idflow: ServerProcess) => Promise<T>, clusterWorkers = 0): Promise<T> => {
    // A cluster's workers would each write a profile into the same folder: profile single processes only.
    const profileDir = k.profile && !clusterWorkers ? join(RESULTS, '..', 'profiles', stamp, key) : undefined;
    server = await startProcess({
      args: [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), clusterWorkers ? 'bench/cluster.ts' : 'src/main.ts'],
      env: clusterWorkers ? { ...env, BENCH_CLUSTER_WORKERS: String(clusterWorkers) } : env,
      cwd: ROOT,
      port,
      readyPath: '/readyz',
      readyMessage: clusterWorkers > 0,
      logFile,
    });
    try {
      return await fn(server);
    } finally {
      await server.stop();
      server = undefined;
      if (profileDir) {
        const file = await newestProfile(profileDir);
        if (file) profiles[key] = await summarizeProfile(file, spans.get(key));
      }
    }
  };

  // Users and clients are made through the core services, as the CLI would, before any load.
  const setupStarted = Date.now();
  const services = await openPlatform(config, createLogger('warn', process.stderr));
  const mobile = await services.clients.save({
    clientId: PUBLIC_CLIENT,
    name: 'Bench Mobile App',
    redirectUris: ['com.example.bench:/callback'],
    grantTypes: ['password', 'refresh_token', 'authorization_code'],
    scope: 'openid email offline_access',
    public: true,
  });
  const service = await services.clients.save({ clientId: CONFIDENTIAL_CLIENT, name: 'Bench Service', grantTypes: ['client_credentials'], scope: CC_SCOPE });
  const users = Array.from({ length: k.users }, (_, i) => ({ username: `bench-${i}@example.com`, password: `bench-password-${randomBytes(6).toString('hex')}` }));
  for (let i = 0; i < users.length; i += k.threadpool) {
    await Promise.all(users.slice(i, i + k.threadpool).map((u) => services.users.create({ email: u.username, password: u.password })));
  }
  await services.db.close();
  log(`setup: ${users.length} users, clients ${mobile.client.clientId} (public) and ${service.client.clientId} (confidential) in ${Date.now() - setupStarted} ms`);

  const figures: Record<string, Figure> = {};

  if (wanted('argon2')) figures.argon2 = await argon2Figure(env, config.password);
  if (wanted('ping')) figures.ping = await pingFigure(logFile);

  // (b) password sign-in through Vault's door: one argon2id verification per request, plus
  // the grant and two tokens written, plus the owner lookup.
  if (wanted('signIn')) figures.signIn = await withIdflow('signIn', (idflow) =>
    http('signIn', '(b) password sign-in POST /reg/auth/token', idflow, k.signInConnections, (i) => async (pool) => {
      const user = users[i % users.length]!;
      const res = await pool.request({
        method: 'POST',
        path: '/reg/auth/token',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'password', username: user.username, password: user.password, client_id: PUBLIC_CLIENT }),
      });
      return tokenProblem(res.statusCode, await res.body.text(), 'refresh_token');
    }),
  );

  // (c) refresh_token grant, chained: each connection presents the refresh token its previous
  // request got back (they rotate and are single use), as an app keeping a session does.
  const signInForToken = async (pool: Pool, i: number): Promise<string> => {
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
  const refreshFigure = (idflow: ServerProcess, key: string, label: string, startChain: (pool: Pool, i: number) => Promise<string> = signInForToken) => async () => {
    // Each chain starts from a password sign-in, made before the clock starts.
    const pool = new Pool(idflow.url, { connections: k.threadpool });
    const firstTokens = await Promise.all(Array.from({ length: k.connections }, (_, i) => startChain(pool, i))).finally(() => pool.close());
    return http(key, label, idflow, k.connections, (i, pool) => {
      let token: string | undefined = firstTokens[i];
      return {
        // A failed request may have used its token up: that chain starts again from a sign-in.
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
  };
  if (wanted('refresh')) figures.refresh = await withIdflow('refresh', (idflow) => refreshFigure(idflow, 'refresh', '(c) refresh_token grant POST /oauth/token')());

  // (d) client_credentials grant, confidential client authenticating with HTTP Basic.
  const basicOf = (secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(CONFIDENTIAL_CLIENT)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  const clientCredentialsFigure = (idflow: ServerProcess, key: string, label: string, basic = basicOf(service.secret!)) =>
    http(key, label, idflow, k.connections, () => async (pool) => {
      const res = await pool.request({
        method: 'POST',
        path: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: `grant_type=client_credentials&scope=${encodeURIComponent(CC_SCOPE)}`,
      });
      return tokenProblem(res.statusCode, await res.body.text());
    });
  if (wanted('clientCredentials')) figures.clientCredentials = await withIdflow('clientCredentials', (idflow) => clientCredentialsFigure(idflow, 'clientCredentials', '(d) client_credentials grant POST /oauth/token'));

  // (f), (g): the same two grants on oidc-provider alone, in memory: what the library itself
  // costs on this machine before any storage, account lookup or logging.
  if (wanted('refreshAlone') || wanted('clientCredentialsAlone')) {
    const alonePort = await freePort();
    const aloneSecret = randomBytes(24).toString('base64url');
    server = await startProcess({ args: ['bench/oidc-provider-alone.ts'], env: { PORT: String(alonePort), BENCH_CLIENT_SECRET: aloneSecret }, cwd: ROOT, port: alonePort, readyPath: '/ping', logFile });
    const alone = server;
    try {
      const mint = async (pool: Pool): Promise<string> => {
        const res = await pool.request({ method: 'POST', path: '/bench/refresh-token' });
        return ((await res.body.json()) as { refresh_token: string }).refresh_token;
      };
      if (wanted('refreshAlone')) figures.refreshAlone = await refreshFigure(alone, 'refreshAlone', '(f) refresh_token, oidc-provider alone (in memory)', mint)();
      if (wanted('clientCredentialsAlone')) figures.clientCredentialsAlone = await clientCredentialsFigure(alone, 'clientCredentialsAlone', '(g) client_credentials, oidc-provider alone', basicOf(aloneSecret));
    } finally {
      await alone.stop();
      server = undefined;
    }
  }

  // Optional: the same two grants with idflow as a small cluster, next to the single process.
  let extra: RunFacts['extra'];
  if (k.cluster > 1) {
    const n = k.cluster;
    extra = {
      deployment: `cluster of ${n} idflow processes (bench/cluster.ts: node:cluster, each worker src/main.ts); the table above stays the single process`,
      figures: {
        refreshCluster: await withIdflow('refreshCluster', (idflow) => refreshFigure(idflow, 'refreshCluster', `(c) refresh_token grant, cluster of ${n}`)(), n),
        clientCredentialsCluster: await withIdflow(
          'clientCredentialsCluster',
          (idflow) => clientCredentialsFigure(idflow, 'clientCredentialsCluster', `(d) client_credentials grant, cluster of ${n}`),
          n,
        ),
      },
    };
  }

  const [git, pgVersion] = await Promise.all([gitState(ROOT), postgresVersion(db.url)]);
  return evaluate({
    command: k.command,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    git,
    node: process.version,
    cores,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    postgres: pgVersion,
    deployment: 'single process (src/main.ts), PostgreSQL and the load generator on the same machine',
    settings: {
      warmupSeconds: k.warmupSeconds,
      seconds: k.seconds,
      maxRequests: k.maxRequests,
      connections: k.connections,
      signInConnections: k.signInConnections,
      argon2InFlight: k.argon2InFlight,
      uvThreadpoolSize: k.threadpool,
      serverLogLevel: k.serverLogLevel,
      users: k.users,
      cluster: k.cluster,
      only: k.only,
      argon2: config.password,
    },
    figures,
    extra,
    profiles,
  });
}

function wanted(key: string): boolean {
  return !k.only || k.only.includes(key);
}

function windows() {
  return { warmupMs: k.warmupSeconds * 1000, durationMs: k.seconds * 1000, maxRequests: k.maxRequests };
}

function figure(key: string, label: string, concurrency: number, m: Measurement, cpu: CpuShare | undefined): Figure {
  const f: Figure = {
    key,
    label,
    concurrency,
    ...m,
    perCore: m.perSecond / cores,
    perServerCpuSecond: cpu?.server ? m.perSecond / cpu.server : null,
    ...cpuPerRequest(m.perSecond, cpu),
    cpu: cpu ?? null,
  };
  log(`${label}: ${m.perSecond.toFixed(1)}/s, p50 ${m.latency.p50.toFixed(2)} ms, p99 ${m.latency.p99.toFixed(2)} ms, ${m.errors} errors`);
  return f;
}

/**
 * (a) argon2id, raw: the same PasswordHasher and parameters, in a process of its own with the
 * server's thread pool size, enough hashes in flight to keep every pool thread busy.
 */
async function argon2Figure(env: Record<string, string>, params: { memoryKiB: number; iterations: number; parallelism: number }): Promise<Figure> {
  log(`(a) argon2id m=${params.memoryKiB} t=${params.iterations} p=${params.parallelism}, ${k.argon2InFlight} in flight, ${k.warmupSeconds} s warm-up + ${k.seconds} s`);
  const { stdout } = await promisify(execFile)(process.execPath, ['bench/argon2.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      BENCH_ARGON2_IN_FLIGHT: String(k.argon2InFlight),
      BENCH_WARMUP_SECONDS: String(k.warmupSeconds),
      BENCH_SECONDS: String(k.seconds),
      BENCH_MAX_REQUESTS: String(k.maxRequests),
    },
  });
  const argon = JSON.parse(stdout) as Measurement & { cpu: CpuShare };
  return figure('argon2', '(a) argon2id hash, raw (PasswordHasher)', k.argon2InFlight, argon, argon.cpu);
}

/** (e) the ceiling: a bare Fastify route in its own process. */
async function pingFigure(logFile: string): Promise<Figure> {
  const pingPort = await freePort();
  server = await startProcess({ args: ['bench/ping-server.ts'], env: { PORT: String(pingPort) }, cwd: ROOT, port: pingPort, readyPath: '/ping', logFile });
  try {
    return await http('ping', '(e) bare Fastify GET /ping (ceiling)', server, k.connections, () => async (pool) => {
      const res = await pool.request({ method: 'GET', path: '/ping' });
      const body = await res.body.text();
      return res.statusCode === 200 && body === '{"ok":true}' ? undefined : `${res.statusCode} ${body.slice(0, 200)}`;
    });
  } finally {
    await server.stop();
    server = undefined;
  }
}

/**
 * CPU spent per request by the server, PostgreSQL and the load generator, and the rate those
 * three would reach if they had every core of this machine to themselves and only CPU limited
 * them. On a machine shared with other work that estimate, not the measured rate, says what a
 * quiet machine of this size would do; it ignores waiting (fsync, locks), so it is an upper bound.
 */
function cpuPerRequest(perSecond: number, cpu: CpuShare | undefined): Pick<Figure, 'cpuMsPerRequest' | 'cpuBoundEstimate'> {
  if (!cpu || cpu.server === null || cpu.postgres === null || !(perSecond > 0)) return { cpuMsPerRequest: null, cpuBoundEstimate: null };
  const ms = (cores: number) => (cores / perSecond) * 1000;
  const total = ms(cpu.server) + ms(cpu.postgres) + ms(cpu.loadGenerator);
  return {
    cpuMsPerRequest: { server: ms(cpu.server), postgres: ms(cpu.postgres), loadGenerator: ms(cpu.loadGenerator), total },
    cpuBoundEstimate: total > 0 ? (cores * 1000) / total : null,
  };
}

/** One HTTP measurement: a keep-alive pool of `connections`, one closed-loop worker per connection. */
async function http(
  key: string,
  label: string,
  target: ServerProcess,
  connections: number,
  makeWorker: (index: number, pool: Pool) => Worker | ((pool: Pool) => Promise<string | undefined>),
): Promise<Figure> {
  log(`${label}: ${connections} connections, ${k.warmupSeconds} s warm-up + ${k.seconds} s`);
  const pool = new Pool(target.url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const probe = new CpuProbe(() => target.pids());
  try {
    const workers = Array.from({ length: connections }, (_, i): Worker => {
      const made = makeWorker(i, pool);
      return typeof made === 'function' ? { request: () => made(pool) } : made;
    });
    const span = { fromUs: 0, toUs: 0 };
    const m = await measure({
      ...windows(),
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
    spans.set(key, span);
    const died = target.exited();
    if (died) throw new Error(died);
    return figure(key, label, connections, m, probe.result);
  } finally {
    await pool.close();
  }
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

