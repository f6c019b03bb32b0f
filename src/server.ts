import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { openPlatform } from './bootstrap.ts';
import type { Config } from './config/index.ts';
import { seedDemo } from './provisioning/demo.ts';
import { importFile } from './provisioning/import-file.ts';
import { purgeExpired } from './maintenance.ts';
import { DeliveryWorker } from './notifications/webhooks/worker.ts';

const PURGE_EVERY_MS = 60_000;
const RELOAD_EVERY_MS = 30_000;

export interface StartOptions {
  importPath?: string | undefined;
  /** Started by npm (`npm start`, `npx idflow start`): stop when npm's shell goes away (see `whenParentExits`). */
  stopWithParent?: boolean;
}

/** Starts the server: storage, import, demo data, HTTP, background jobs, graceful close. */
export async function startServer(config: Config, logger: Logger, options: StartOptions = {}) {
  const started = Date.now();
  const orphaned = options.stopWithParent
    ? whenParentExits(() => {
        logger.info('the npm process that started idflow is gone; stopping as on SIGTERM');
        process.kill(process.pid, 'SIGTERM');
      })
    : undefined;
  const services = await openPlatform(config, logger);
  let app: FastifyInstance | undefined;
  let demo: Awaited<ReturnType<typeof seedDemo>>;
  try {
    const importPath = options.importPath ?? config.importFile;
    if (importPath) logger.info({ file: importPath, ...(await importFile(services, importPath)) }, 'import applied');
    demo = await seedDemo(services);
    app = await buildApp(services);
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // What is open keeps the process alive (the embedded database runs timers), and a process
    // that neither serves nor exits is one a supervisor never restarts.
    orphaned?.stop();
    await app?.close().catch(() => {});
    await services.limits.close().catch(() => {});
    await services.db.close().catch(() => {});
    throw error;
  }

  // Background jobs; unref'd so they never hold the process open.
  const purge = setInterval(() => {
    purgeExpired(services).then(
      (report) => logger.debug({ event: 'purge', ...report }, 'expired data purged'),
      (err) => logger.warn({ err }, 'purge failed'),
    );
  }, PURGE_EVERY_MS).unref();
  // Any node may find a checkpoint due; the lock inside makes it one per interval.
  const checkpoint = setInterval(() => {
    services.audit.checkpointIfDue().then(
      (made) => made && logger.info({ event: 'audit.checkpoint', root: made.root, streams: made.streams.length }, 'audit checkpoint signed'),
      (err) => logger.warn({ err }, 'audit checkpoint failed'),
    );
  }, PURGE_EVERY_MS).unref();
  const reload = setInterval(() => {
    services.oauth.reloadIfChanged().catch((err) => logger.warn({ err }, 'OAuth reload failed'));
  }, RELOAD_EVERY_MS).unref();
  // Every node may deliver webhooks; they share the work through the database.
  const deliveries = config.webhooks.worker
    ? new DeliveryWorker({ db: services.db, keyring: services.keyring, clock: services.clock, logger, settings: config.webhooks, metrics: services.metrics })
    : undefined;
  await deliveries?.start();

  logger.info({ issuer: config.issuer, storage: services.db.kind, ms: Date.now() - started }, 'idflow is ready');
  if (demo) {
    process.stdout.write(
      `\nFirst start: a demo is ready (also saved in ${config.dataDir}/demo-credentials.json)\n` +
        `  web client     client_id=${demo.web.client_id} client_secret=${demo.web.client_secret}\n` +
        `                 redirect_uri=${demo.web.redirect_uri}\n` +
        `  mobile client  client_id=${demo.mobile.client_id} (public; password grant enabled)\n` +
        `  test user      username=${demo.user.email} password=${demo.user.password}\n` +
        `  discovery      ${config.issuer}/.well-known/openid-configuration\n\n`,
    );
  }

  // SIGTERM, SIGINT and SIGHUP (and a crash) close the server gracefully, then exit.
  const closer = closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'closing after an error');
    else logger.info({ signal }, 'closing');
    clearInterval(purge);
    clearInterval(checkpoint);
    clearInterval(reload);
    orphaned?.stop();
    await app.close();
    await deliveries?.stop();
    await services.limits.close();
    await services.db.close();
  });
  return { app, services, close: () => closer.close() };
}

/**
 * npm runs a script or a package's command through `sh -c`, and forwards SIGTERM to that
 * shell only; the shell dies of it without passing it on, and idflow would be left running,
 * holding its port, once npm has exited. Under npm, the parent going away (the process is
 * handed to init) is therefore taken for the SIGTERM that did not arrive.
 */
function whenParentExits(stop: () => void): { stop(): void } {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, 250).unref();
  return { stop: () => clearInterval(timer) };
}
