import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { openPlatform } from './bootstrap.ts';
import type { Config } from './config/index.ts';
import { seedDemo } from './provisioning/demo.ts';
import { importFile } from './provisioning/import-file.ts';
import { purgeExpired } from './maintenance.ts';

const PURGE_EVERY_MS = 60_000;
const RELOAD_EVERY_MS = 30_000;

/** Starts the server: storage, import, demo data, HTTP, background jobs, graceful close. */
export async function startServer(config: Config, logger: Logger, options: { importPath?: string | undefined } = {}) {
  const started = Date.now();
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
    await app?.close().catch(() => {});
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
  const reload = setInterval(() => {
    services.oauth.reloadIfChanged().catch((err) => logger.warn({ err }, 'OAuth reload failed'));
  }, RELOAD_EVERY_MS).unref();

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

  const closer = closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'closing after an error');
    else logger.info({ signal }, 'closing');
    clearInterval(purge);
    clearInterval(reload);
    await app.close();
    await services.limits.close();
    await services.db.close();
  });
  return { app, services, close: () => closer.close() };
}
