import { mkdir } from 'node:fs/promises';

/**
 * The one door to SQL. Repositories receive a `Queryable` (the database, or a transaction)
 * and issue parameterised SQL that runs unchanged on PostgreSQL and on embedded PGlite.
 */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements, without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * Writes one repository adds to another's statement, as common table expressions: they
 * commit with it in one round trip and one WAL flush (data-modifying CTEs run once, to
 * completion). `sql` is the CTE list without `with`; its parameters are numbered from the
 * `firstParam` it was made for.
 */
export interface Cte {
  sql: string;
  params: unknown[];
}

/** The rows a `Cte` acts on: a CTE of the host statement, and which of its columns say what. */
export interface RowsOf {
  cte: string;
  flowId: string;
  clientId: string;
  userId?: string;
}

/** Writes another repository adds to a statement, made for the rows it names (see `Cte`). */
export type CteOf = (rows: RowsOf, firstParam: number) => Cte;

/** `cte` as it follows a statement's own CTE (`, …`), or nothing when there is none. */
export function followingCte(cte: Cte | undefined): Cte {
  return cte ? { sql: `, ${cte.sql}`, params: cte.params } : { sql: '', params: [] };
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** PGlite only: a snapshot of the whole database, to start other instances from (tests). */
  dump?(): Promise<Blob>;
  /**
   * Calls `onNotify` on each NOTIFY on `channel` (after the notifying transaction commits);
   * resolves to what stops listening. A wake-up only: a notification can be missed (a
   * connection drops), so listeners poll as well.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
}

export interface OpenDbOptions {
  databaseUrl?: string | undefined;
  /** PostgreSQL only: a schema to use (created when missing); tests use one per run. */
  schema?: string;
  /** PGlite only: the data folder, or undefined for an in-memory database. */
  dataDir?: string | undefined;
  /** PGlite only: a dump (from `dump()`) to start from; tests use a migrated template. */
  loadDataDir?: Blob;
  poolSize?: number;
}

export async function openDb(options: OpenDbOptions): Promise<Db> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPglite(options);
}

async function openPostgres(databaseUrl: string, options: OpenDbOptions): Promise<Db> {
  const { default: pg } = await import('pg');
  // bigint counts come back as numbers; they stay far below 2^53 here.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  if (options.schema) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new Error('schema name must be a plain identifier');
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await admin.query(`create schema if not exists ${options.schema}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 20,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle client that errors (the server restarted) must not crash the process.
  pool.on('error', () => {});
  type Client = { query: (query: string | { name?: string; text: string; values: unknown[] }) => Promise<{ rows: unknown[] }> };
  const on = (client: Client): Queryable => ({
    // A statement without parameters may be a script of several; those go unprepared.
    query: async <T>(sql: string, params?: unknown[]) =>
      (await client.query(params?.length ? { name: preparedName(sql), text: sql, values: params } : sql)).rows as T[],
    exec: async (sql: string) => void (await client.query(sql)),
  });
  const direct = on(pool as unknown as Client);
  return {
    kind: 'postgres',
    ...direct,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await fn(on(client as unknown as Client));
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async ping() {
      await pool.query('select 1');
    },
    async listen(channel, onNotify) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error('channel name must be a plain identifier');
      // A connection of its own, outside the pool: LISTEN holds it for as long as it listens.
      const client = new pg.Client({ connectionString: databaseUrl });
      client.on('error', () => {});
      client.on('notification', (message) => message.channel === channel && onNotify());
      await client.connect();
      await client.query(`listen ${channel}`);
      return () => client.end();
    },
    close: () => pool.end(),
  };
}

/**
 * On PostgreSQL, statements are prepared once per connection and run by name afterwards, so
 * the server parses and plans each of the platform's statements once rather than at every
 * request (a refresh is four to five statements, a sign-in eight; bench/README.md). Only
 * statements with parameters get names: one without may be a script of several, which
 * cannot be prepared. At most `PREPARED_LIMIT` distinct texts are named, so statements built
 * at run time can never grow a connection's cache without bound; beyond it they run unnamed.
 */
const PREPARED_LIMIT = 1000;
const preparedNames = new Map<string, string>();

function preparedName(sql: string): string | undefined {
  let name = preparedNames.get(sql);
  if (name === undefined && preparedNames.size < PREPARED_LIMIT) {
    name = `idflow_${preparedNames.size}`;
    preparedNames.set(sql, name);
  }
  return name;
}

async function openPglite(options: OpenDbOptions): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const pglite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  type Tx = { query: (sql: string, params?: unknown[]) => Promise<{ rows: unknown[] }>; exec: (sql: string) => Promise<unknown> };
  const on = (tx: Tx): Queryable => ({
    query: async <T>(sql: string, params?: unknown[]) => (await tx.query(sql, params)).rows as T[],
    exec: async (sql: string) => void (await tx.exec(sql)),
  });
  return {
    kind: 'pglite',
    ...on(pglite),
    transaction: (fn) => pglite.transaction((tx) => fn(on(tx))),
    async ping() {
      await pglite.query('select 1');
    },
    listen: (channel, onNotify) => pglite.listen(channel, () => onNotify()) as Promise<() => Promise<void>>,
    close: () => pglite.close(),
    dump: () => pglite.dumpDataDir('none') as Promise<Blob>,
  };
}
