// idflow as the bench runs it: the environment of a server process, the bench's users and
// clients, and starting a tree's `src/main.ts` as `npm start` does. Users and clients are made
// by the tree itself, from an import file (`IDFLOW_IMPORT`, applied at start before the server
// listens): the interface every version of idflow reads the same way, so a bench taken from the
// current tree can also set up an older tree, whatever its migrations and services look like.
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchDatabase } from './database.ts';
import { freePort, startProcess, type ServerProcess } from './processes.ts';
import type { Knobs } from './settings.ts';

export const PUBLIC_CLIENT = 'bench-mobile';
export const CONFIDENTIAL_CLIENT = 'bench-service';
export const CC_SCOPE = 'api:read';

export interface BenchUser {
  username: string;
  password: string;
}

/** One idflow tree, set up on its own database, ready to be started for each figure. */
export interface IdflowSetup {
  root: string;
  database: BenchDatabase;
  env: Record<string, string>;
  port: number;
  logFile: string;
  users: BenchUser[];
  /** The confidential client's secret. */
  serviceSecret: string;
}

/** What every idflow server of a bench runs with: its own database, keys, data folder and port. */
export function idflowEnv(database: BenchDatabase, port: number, k: Knobs): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    IDFLOW_SEALING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    IDFLOW_DATA_DIR: join(tmpdir(), `${database.name}-data`),
    IDFLOW_ISSUER: `http://127.0.0.1:${port}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: k.serverLogLevel,
    UV_THREADPOOL_SIZE: String(k.threadpool),
  };
}

/**
 * Makes the bench's users (argon2id passwords) and its two clients in `database` through the
 * tree at `root`: its server starts once with the import file, migrates the database as its
 * own migrations say, applies the file, answers /readyz, and is stopped.
 */
export async function setUpIdflow(root: string, database: BenchDatabase, k: Knobs, log: (line: string) => void): Promise<IdflowSetup> {
  const port = await freePort();
  const env: Record<string, string> = {
    ...idflowEnv(database, port, k),
    // All sign-ins succeed, so nothing should be throttled; the limits are raised anyway so
    // that a run can never measure the throttle instead of the sign-in. A version that does not
    // know one of these variables ignores it.
    IDFLOW_SIGNIN_IP_FAILURES: '100000',
    IDFLOW_SIGNIN_ACCOUNT_FAILURES: '1000',
    IDFLOW_SIGNIN_ACCOUNT_IP_FAILURES: '1000',
  };
  const users = Array.from({ length: k.users }, (_, i) => ({ username: `bench-${i}@example.com`, password: `bench-password-${randomBytes(6).toString('hex')}` }));
  const serviceSecret = randomBytes(32).toString('base64url');
  const logFile = join(tmpdir(), `${database.name}.log`);
  const importFile = join(tmpdir(), `${database.name}-import.json`);
  await writeFile(
    importFile,
    JSON.stringify({
      clients: [
        {
          client_id: PUBLIC_CLIENT,
          name: 'Bench Mobile App',
          redirect_uris: ['com.example.bench:/callback'],
          grant_types: ['password', 'refresh_token', 'authorization_code'],
          scope: 'openid email offline_access',
          public: true,
        },
        { client_id: CONFIDENTIAL_CLIENT, name: 'Bench Service', grant_types: ['client_credentials'], scope: CC_SCOPE, client_secret: serviceSecret },
      ],
      users: users.map((u) => ({ email: u.username, password: u.password })),
    }),
    { mode: 0o600 },
  );
  const setup: IdflowSetup = { root, database, env, port, logFile, users, serviceSecret };
  const started = Date.now();
  try {
    const server = await startIdflow(setup, { extraEnv: { IDFLOW_IMPORT: importFile } });
    await server.stop();
  } finally {
    await rm(importFile, { force: true });
  }
  log(`set up ${database.name} through ${root}: ${users.length} users, clients ${PUBLIC_CLIENT} (public) and ${CONFIDENTIAL_CLIENT} (confidential) in ${Date.now() - started} ms; server log ${logFile}`);
  return setup;
}

export interface StartIdflowOptions {
  /** Node options before the script, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Run `bench/cluster.ts` with this many workers instead of one `src/main.ts`. */
  clusterWorkers?: number;
  extraEnv?: Record<string, string>;
}

/** A fresh server process of the tree, started as `npm start` starts it. */
export function startIdflow(setup: IdflowSetup, options: StartIdflowOptions = {}): Promise<ServerProcess> {
  const cluster = options.clusterWorkers ?? 0;
  return startProcess({
    args: [...(options.nodeArgs ?? []), cluster ? 'bench/cluster.ts' : 'src/main.ts'],
    env: { ...setup.env, ...(cluster ? { BENCH_CLUSTER_WORKERS: String(cluster) } : {}), ...options.extraEnv },
    cwd: setup.root,
    port: setup.port,
    readyPath: '/readyz',
    readyMessage: cluster > 0,
    logFile: setup.logFile,
  });
}
