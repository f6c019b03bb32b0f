import { purgeWebKyc } from './kyc/index.ts';
import type { Services } from './services.ts';

export interface PurgeReport {
  /** Verifications past their expiry, marked expired (the provider never answered). */
  verificationsExpired: number;
  /** Finished verifications whose images were past their retention: images deleted. */
  verificationImagesDeleted: number;
  /** Web KYC hand-overs whose time was up: details, images and rows deleted. */
  webKycHandOvers: number;
  /** Expired flows deleted (their sealed data with them). */
  flows: number;
  /** 1-Click phone holds and input-failure counts whose time was up. */
  oneClickHolds: number;
  /** Expired OAuth tokens, codes, sessions and interactions deleted. */
  oauthRows: number;
  /** Limit counters whose window is over (in the database; Redis expires its own). */
  limitCounters: number;
}

/**
 * Everything that must happen because time passed, in one place: the server runs it every
 * minute and `idflow purge` on demand. Each step is idempotent, so several nodes may run it
 * at once. Verifications are expired first, so what they leave behind is purged in the
 * same pass.
 */
export async function purgeExpired(services: Services): Promise<PurgeReport> {
  const verificationsExpired = await services.verification.expireStale();
  const verificationImagesDeleted = await services.verification.deleteImagesPastRetention();
  // One `now` for both: the Web KYC purge deletes a verification's data before the flows purge deletes its flow.
  const now = services.clock.now();
  const webKycHandOvers = await purgeWebKyc(services, now);
  const [flows, oneClickHolds, oauthRows, limitCounters] = await Promise.all([
    services.flows.purgeExpired(now),
    services.oneClick.purgeExpired(now),
    services.repos.payloads.purgeExpired(now),
    services.limits.purgeExpired(now),
  ]);
  return { verificationsExpired, verificationImagesDeleted, webKycHandOvers, flows, oneClickHolds, oauthRows, limitCounters };
}
