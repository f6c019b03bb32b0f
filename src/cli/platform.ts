import type { Logger } from 'pino';
import { openPlatform } from '../bootstrap.ts';
import type { Config } from '../config/index.ts';
import type { Services } from '../services.ts';

/** Runs a command's work on the opened platform; the command files take it from `main.ts`. */
export type WithPlatform = (fn: (services: Services) => Promise<void>) => Promise<number>;

/** Opens the platform, runs `fn` and closes what was opened, whatever happened. */
export async function withPlatform(config: Config, logger: Logger, fn: (services: Services) => Promise<void>): Promise<number> {
  const services = await openPlatform(config, logger);
  try {
    await fn(services);
    return 0;
  } finally {
    await services.limits.close();
    await services.db.close();
  }
}
