import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import { loadKeyring } from './config/keyring.ts';
import { systemClock, type Clock } from './kernel/clock.ts';
import { openDb, type Db } from './storage/db.ts';
import { migrate } from './storage/migrate.ts';
import { templateFor } from './storage/embedded-template.ts';
import { createServices, type Services } from './services.ts';

/**
 * Opens the configured storage, brings its schema up to date and wires the core. The
 * server and every CLI command start through here, so they always see the same data.
 */
export async function openPlatform(config: Config, logger: Logger, clock: Clock = systemClock): Promise<Services> {
  const { keyring, generatedAt } = await loadKeyring(config);
  if (generatedAt) logger.warn({ file: generatedAt }, 'generated a development sealing key; set IDFLOW_SEALING_KEYS in production');
  const db = await openStorage(config);
  try {
    const applied = await migrate(db);
    if (applied.length) logger.info({ migrations: applied }, 'database migrated');
    return await createServices({ config, db, keyring, clock, logger });
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}

/** The configured database (PostgreSQL, else the embedded one in the data folder), not yet migrated. */
export async function openStorage(config: Config): Promise<Db> {
  const embeddedDir = `${config.dataDir}/pg`;
  return config.databaseUrl
    ? openDb({ databaseUrl: config.databaseUrl })
    : openDb({ dataDir: embeddedDir, loadDataDir: await templateFor(embeddedDir) });
}
