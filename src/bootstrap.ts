import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import { loadKeyring } from './config/keyring.ts';
import { systemClock, type Clock } from './kernel/clock.ts';
import { mkdir } from 'node:fs/promises';
import { DataFolderInUseError, lockDataFolder } from './storage/data-folder-lock.ts';
import { openDb, type Db } from './storage/db.ts';
import { migrate } from './storage/migrate.ts';
import { templateFor } from './storage/embedded-template.ts';
import { createServices, type Services } from './services.ts';

/**
 * Opens the configured storage, brings its schema up to date and wires the core. The
 * server and every CLI command start through here, so they always see the same data.
 */
export async function openPlatform(config: Config, logger: Logger, clock: Clock = systemClock): Promise<Services> {
  // Storage first: on the embedded database it locks the data folder, which holds the
  // development sealing key too.
  const db = await openStorage(config, logger);
  try {
    const { keyring, generatedAt } = await loadKeyring(config);
    if (generatedAt) logger.warn({ file: generatedAt }, 'generated a development sealing key; set IDFLOW_SEALING_KEYS in production');
    const applied = await migrate(db);
    if (applied.length) logger.info({ migrations: applied }, 'database migrated');
    return await createServices({ config, db, keyring, clock, logger });
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}

/**
 * The configured database (PostgreSQL, else the embedded one in the data folder), not yet
 * migrated. The embedded one is this process's alone until it is closed (see
 * `lockDataFolder`); PostgreSQL is shared by design and takes no lock.
 */
export async function openStorage(config: Config, logger: Logger): Promise<Db> {
  if (config.databaseUrl) return openDb({ databaseUrl: config.databaseUrl });
  await mkdir(config.dataDir, { recursive: true });
  const release = await lockDataFolder(config.dataDir, {
    onStale: (owner) => logger.warn({ pid: owner.pid, since: owner.since }, 'the data folder was left locked by a process that is gone; taking it over'),
    onCompromised: (error) => {
      // Another process took the folder while this one stalled: writing on would corrupt it.
      logger.fatal({ folder: config.dataDir, reason: error.message }, 'lost the lock of the data folder; stopping');
      throw new DataFolderInUseError(config.dataDir, undefined);
    },
  });
  try {
    const embeddedDir = `${config.dataDir}/pg`;
    const db = await openDb({ dataDir: embeddedDir, loadDataDir: await templateFor(embeddedDir) });
    return {
      ...db,
      async close() {
        try {
          await db.close();
        } finally {
          await release();
        }
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}
