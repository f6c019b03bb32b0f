import type { Logger } from 'pino';
import type { Config, VerificationConfig } from '../config/index.ts';
import type { Clock } from '../kernel/clock.ts';
import type { Db } from '../storage/db.ts';
import type { Sealer } from '../storage/sealer.ts';
import { VerificationsRepo } from '../storage/verifications-repo.ts';
import type { ImageLimits } from './documents/index.ts';
import { VerificationEngine, type VerificationEngineDeps } from './engine.ts';
import { SandboxProvider } from './providers/sandbox/provider.ts';
import { VeriffProvider } from './providers/veriff/provider.ts';
import type { VerificationProvider } from './types.ts';

/** The limits every image is held to, wherever it comes from. */
export function imageLimits(config: VerificationConfig): ImageLimits {
  return { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels, maxSide: config.maxImageSide };
}

/**
 * The providers this deployment offers, from its configuration: the sandbox when enabled,
 * each vendor when its variables are set. Adding a vendor is one adapter and one line here.
 */
export function buildProviders(config: Config, clock: Clock): { providers: Map<string, VerificationProvider>; trustFrameworks: Record<string, string> } {
  const providers = new Map<string, VerificationProvider>();
  const trustFrameworks: Record<string, string> = {};
  if (config.verification.sandbox) {
    providers.set('sandbox', new SandboxProvider());
    trustFrameworks.sandbox = 'idflow_sandbox';
  }
  const veriff = config.verification.veriff;
  if (veriff) {
    providers.set('veriff', new VeriffProvider({ apiKey: veriff.apiKey, sharedSecret: veriff.sharedSecret, baseUrl: veriff.baseUrl, clock, imageLimits: imageLimits(config.verification) }));
    trustFrameworks.veriff = veriff.trustFramework;
  }
  return { providers, trustFrameworks };
}

export function buildVerificationEngine(deps: {
  config: Config;
  db: Db;
  sealer: Sealer;
  clock: Clock;
  logger: Logger;
  limits: VerificationEngineDeps['limits'];
  security?: VerificationEngineDeps['security'];
}): VerificationEngine {
  const { config, db, sealer, clock, logger, limits, security } = deps;
  const { providers, trustFrameworks } = buildProviders(config, clock);
  return new VerificationEngine(
    { db, repo: new VerificationsRepo(db, sealer), sealer, clock, logger, limits, security },
    {
      providers,
      trustFrameworks,
      baseUrl: config.issuer,
      ttlSeconds: config.verification.ttlSeconds,
      defaultProvider: config.verification.defaultProvider,
      imageRetentionDays: config.verification.imageRetentionDays,
    },
  );
}
