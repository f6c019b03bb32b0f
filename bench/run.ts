// `npm run bench`: throughput and latency of idflow's hot paths on PostgreSQL, read against
// the cost of argon2id and against a bare Fastify route on the same machine. bench/README.md
// says what each figure is and how to read the result file. With BENCH_BASELINE=<commit>, the
// core figures of an older commit and of this tree instead, in one run (bench/compare.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/index.ts';
import { createBenchDatabase, postgresVersion } from './lib/database.ts';
import { Figures, LABELS, signInChain, startLibraryAlone, startPing } from './lib/figures.ts';
import { setUpIdflow, startIdflow, type IdflowSetup } from './lib/idflow-server.ts';
import type { ServerProcess } from './lib/processes.ts';
import { newestProfile, summarizeProfile, type ProfileSummary } from './lib/profile.ts';
import { gitState, knobs, type Knobs } from './lib/settings.ts';
import { evaluate, printReport, type Figure, type Report, type RunFacts } from './lib/report.ts';
import { Teardown } from './lib/teardown.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');

const k: Knobs = knobs();
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const teardown = new Teardown(log);
const measured = new Figures(k, teardown, log);

try {
  if (k.baseline) {
    const { compare } = await import('./compare.ts');
    process.exitCode = await compare({ k, root: ROOT, results: RESULTS, startedAt, teardown, figures: measured, log });
  } else {
    const report = await runAll();
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
  }
} finally {
  await teardown.run();
}

async function runAll(): Promise<Report> {
  const db = await createBenchDatabase();
  if (!k.keepDatabase) teardown.add(`database ${db.name}`, () => db.drop());
  log(`database ${db.name}`);
  const setup: IdflowSetup = await setUpIdflow(ROOT, db, k, log);
  const { logFile, users } = setup;

  // Each idflow figure gets a fresh server process, started as `npm start` starts it; with
  // BENCH_PROFILE=1 it runs under --cpu-prof and the profile is summarised in the output.
  const profiles: Record<string, ProfileSummary> = {};
  const withIdflow = async <T>(key: string, fn: (idflow: ServerProcess) => Promise<T>, clusterWorkers = 0): Promise<T> => {
    // A cluster's workers would each write a profile into the same folder: profile single processes only.
    const profileDir = k.profile && !clusterWorkers ? join(RESULTS, '..', 'profiles', stamp, key) : undefined;
    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    try {
      return await teardown.serve(startIdflow(setup, { nodeArgs, clusterWorkers }), fn);
    } finally {
      if (profileDir) {
        const file = await newestProfile(profileDir);
        if (file) profiles[key] = await summarizeProfile(file, measured.spans.get(key));
      }
    }
  };

  const figures: Record<string, Figure> = {};
  if (wanted('argon2')) figures.argon2 = await measured.argon2(ROOT, setup.env);
  if (wanted('ping')) figures.ping = await teardown.serve(startPing(ROOT, logFile), (server) => measured.ping(server));
  if (wanted('signIn')) figures.signIn = await withIdflow('signIn', (idflow) => measured.signIn(idflow, users));
  const refresh = (key: string, label: string) => (idflow: ServerProcess) => measured.refresh(idflow, key, label, signInChain(users));
  if (wanted('refresh')) figures.refresh = await withIdflow('refresh', refresh('refresh', LABELS.refresh));
  const clientCredentials = (key: string, label: string) => (idflow: ServerProcess) => measured.clientCredentials(idflow, key, label, setup.serviceSecret);
  if (wanted('clientCredentials')) figures.clientCredentials = await withIdflow('clientCredentials', clientCredentials('clientCredentials', LABELS.clientCredentials));

  // (f), (g): the same two grants on oidc-provider alone, in memory: what the library itself
  // costs on this machine before any storage, account lookup or logging.
  if (wanted('refreshAlone') || wanted('clientCredentialsAlone')) {
    await teardown.serve(startLibraryAlone(ROOT, logFile), async (alone) => {
      if (wanted('refreshAlone')) figures.refreshAlone = await measured.refresh(alone, 'refreshAlone', LABELS.refreshAlone, alone.mint);
      if (wanted('clientCredentialsAlone')) figures.clientCredentialsAlone = await measured.clientCredentials(alone, 'clientCredentialsAlone', LABELS.clientCredentialsAlone, alone.secret);
    });
  }

  // Optional: the same two grants with idflow as a small cluster, next to the single process.
  let extra: RunFacts['extra'];
  if (k.cluster > 1) {
    const n = k.cluster;
    extra = {
      deployment: `cluster of ${n} idflow processes (bench/cluster.ts: node:cluster, each worker src/main.ts); the table above stays the single process`,
      figures: {
        refreshCluster: await withIdflow('refreshCluster', refresh('refreshCluster', `(c) refresh_token grant, cluster of ${n}`), n),
        clientCredentialsCluster: await withIdflow('clientCredentialsCluster', clientCredentials('clientCredentialsCluster', `(d) client_credentials grant, cluster of ${n}`), n),
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
    cores: measured.cores,
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
      argon2: loadConfig({ ...process.env, ...setup.env }).password,
    },
    figures,
    extra,
    profiles,
  });
}

function wanted(key: string): boolean {
  return !k.only || k.only.includes(key);
}
