import { exportJWK, generateKeyPair } from 'jose';
import { randomToken } from '../kernel/ids.ts';
import type { Clock } from '../kernel/clock.ts';
import type { Keyring } from '../kernel/sealing.ts';
import type { Db } from '../storage/db.ts';
import { EventsRepo } from '../storage/events-repo.ts';
import { SigningKeysRepo } from '../storage/signing-keys-repo.ts';

export const SIGNING_ALG = 'ES256';

async function newPrivateJwk(alg: string): Promise<{ kid: string; jwk: Record<string, unknown> }> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomToken(12);
  return { kid, jwk: { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' } };
}

/** Creates the first signing key, unless one exists. */
export async function ensureSigningKey(db: Db, keyring: Keyring, clock: Clock): Promise<void> {
  await db.transaction(async (tx) => {
    const repo = new SigningKeysRepo(tx, keyring);
    await repo.lockForChange();
    if ((await repo.unretired(SIGNING_ALG)) > 0) return;
    const { kid, jwk } = await newPrivateJwk(SIGNING_ALG);
    await repo.insert(kid, SIGNING_ALG, jwk, clock.now());
  });
}

/** How long a rotated-in key is published before it signs: relying parties refresh cached JWKS in that time. */
export const DEFAULT_ACTIVATION_DELAY_SECONDS = 600;

/**
 * Rotates the signing key in two steps, without a moment when a relying party meets a key
 * id it cannot find: the new key is published at once and signs from `activationDelaySeconds`
 * on (0 for an emergency); the previous key signs until then and stays published
 * `keepPublishedSeconds` longer (the longest life of anything it signed).
 */
export async function rotateSigningKey(
  db: Db,
  keyring: Keyring,
  clock: Clock,
  options: { keepPublishedSeconds: number; activationDelaySeconds?: number },
): Promise<{ kid: string; retired: number; activatesAt: Date }> {
  return db.transaction(async (tx) => {
    const repo = new SigningKeysRepo(tx, keyring);
    await repo.lockForChange();
    const activatesAt = new Date(clock.now().getTime() + (options.activationDelaySeconds ?? DEFAULT_ACTIVATION_DELAY_SECONDS) * 1000);
    const retired = await repo.retireActive(SIGNING_ALG, activatesAt, new Date(activatesAt.getTime() + options.keepPublishedSeconds * 1000));
    const { kid, jwk } = await newPrivateJwk(SIGNING_ALG);
    await repo.insert(kid, SIGNING_ALG, jwk, activatesAt);
    await new EventsRepo(tx).record({ type: 'signing_key.rotated', payload: { kid, activatesAt: activatesAt.toISOString(), retired } }, clock.now());
    return { kid, retired, activatesAt };
  });
}
