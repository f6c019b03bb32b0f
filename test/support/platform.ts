import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { ManualClock, systemClock, type Clock } from '../../src/kernel/clock.ts';
import { createLogger } from '../../src/kernel/logger.ts';
import { Keyring } from '../../src/kernel/sealing.ts';
import { openDb, type Db } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createServices, type Services } from '../../src/services.ts';

export type Backend = 'pglite' | 'postgres';

export const POSTGRES_URL = process.env.IDFLOW_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let postgresReachable: Promise<boolean> | undefined;

/**
 * The storage backends this run tests on: always the embedded one; PostgreSQL when it
 * answers. In CI (CI=true) PostgreSQL must answer: a silent skip there would hide a failure.
 */
export async function backends(): Promise<Backend[]> {
  postgresReachable ??= (async () => {
    try {
      const db = await openDb({ databaseUrl: POSTGRES_URL, poolSize: 1 });
      await db.ping();
      await db.close();
      return true;
    } catch (error) {
      if (process.env.CI) throw new Error(`PostgreSQL at ${POSTGRES_URL} is required in CI: ${(error as Error).message}`);
      return false;
    }
  })();
  return (await postgresReachable) ? ['pglite', 'postgres'] : ['pglite'];
}

/**
 * A migrated embedded database, made once per set of migrations and kept in the temp
 * folder: a fresh PGlite costs seconds, loading this snapshot well under one.
 */
async function pgliteTemplate(): Promise<Blob> {
  const dir = new URL('../../src/storage/migrations/', import.meta.url);
  const files = (await readdir(dir)).sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update(await readFile(new URL(f, dir)));
  const path = join(tmpdir(), `idflow-pglite-template-${hash.digest('hex').slice(0, 16)}.tar`);
  if (!existsSync(path)) {
    const db = await openDb({});
    await migrate(db);
    const dump = await db.dump!();
    await db.close();
    const partial = `${path}.${process.pid}`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, path);
  }
  return new Blob([await readFile(path)]);
}

export interface TestDb {
  db: Db;
  drop(): Promise<void>;
  /** Opens another connection pool to the same database (PostgreSQL); the embedded one has a single handle. */
  reopen(): Promise<Db>;
}

/** A fresh, migrated database of the given kind; `drop` removes every trace of it. */
export async function freshDb(backend: Backend): Promise<TestDb> {
  if (backend === 'pglite') {
    const db = await openDb({ loadDataDir: await pgliteTemplate() });
    return { db, drop: () => db.close(), reopen: async () => db };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const db = await openDb({ databaseUrl: POSTGRES_URL, schema, poolSize: 10 });
  await migrate(db);
  return {
    db,
    async drop() {
      await db.query(`drop schema ${schema} cascade`).catch(() => {});
      await db.close();
    },
    reopen: () => openDb({ databaseUrl: POSTGRES_URL, schema, poolSize: 10 }),
  };
}

export interface TestPlatform {
  backend: Backend;
  services: Services;
  app: FastifyInstance;
  clock: Clock;
  config: Config;
  keyring: Keyring;
  /** Base URL once `listen()` was called. */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
  /**
   * Another node of the same deployment, as a second server process would be: its own app
   * and services (and its own connection pool on PostgreSQL) on the same database, with the
   * same keyring and configuration (plus `env`). Closed with this platform, or on its own.
   */
  anotherNode(env?: Record<string, string>): Promise<TestPlatform>;
}

export interface PlatformOptions {
  env?: Record<string, string>;
  clock?: ManualClock;
  /** Listen on a loopback port (needed for real clients and the browser). */
  listen?: boolean;
  /** Receives every log line (JSON) at level info and above, for tests about what is logged. */
  logLines?: string[];
}

/** The real application on a fresh database, as production builds it. */
export async function startPlatform(backend: Backend, options: PlatformOptions = {}): Promise<TestPlatform> {
  const testDb = await freshDb(backend);
  const { db, drop } = testDb;
  const port = options.listen ? await freePort() : 4000;
  const baseEnv = { IDFLOW_ISSUER: `http://127.0.0.1:${port}`, PORT: String(port), LOG_LEVEL: 'silent', ...options.env };
  const config = loadConfig(baseEnv);
  const keyring = new Keyring([{ id: 'test', key: randomBytes(32) }]);
  const clock = options.clock ?? systemClock;
  const logLines = options.logLines;
  const logger = logLines
    ? createLogger('info', { write: (line: string) => void logLines.push(line) })
    : createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const services = await createServices({ config, db, keyring, clock, logger });
  const app = await buildApp(services);
  const nodes: TestPlatform[] = [];
  const platform: TestPlatform = {
    backend,
    services,
    app,
    clock,
    config,
    keyring,
    url: '',
    async listen() {
      await app.listen({ port, host: '127.0.0.1' });
      platform.url = `http://127.0.0.1:${port}`;
      return platform.url;
    },
    async close() {
      for (const node of nodes) await node.close();
      await app.close();
      await services.limits.close();
      await drop();
    },
    async anotherNode(env = {}) {
      const nodeDb = await testDb.reopen();
      const nodeConfig = loadConfig({ ...baseEnv, ...env });
      const nodeServices = await createServices({ config: nodeConfig, db: nodeDb, keyring, clock, logger });
      const nodeApp = await buildApp(nodeServices);
      let closed = false;
      const node: TestPlatform = {
        ...platform,
        services: nodeServices,
        app: nodeApp,
        config: nodeConfig,
        url: '',
        listen: () => Promise.reject(new Error('another node answers through inject() only')),
        async close() {
          if (closed) return;
          closed = true;
          await nodeApp.close();
          await nodeServices.limits.close();
          if (nodeDb !== db) await nodeDb.close();
        },
        anotherNode: () => platform.anotherNode(env),
      };
      nodes.push(node);
      return node;
    },
  };
  if (options.listen) await platform.listen();
  return platform;
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
