import { exportJWK, generateKeyPair } from 'jose';
import { randomToken } from '../kernel/ids.ts';
import type { Clock } from '../kernel/clock.ts';
import type { Keyring } from '../kernel/sealing.ts';
import type { Db } from '../storage/db.ts';
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
    const published = await repo.published(clock.now());
    if (published.some((k) => !k.retiredAt && k.alg === SIGNING_ALG)) return;
    const { kid, jwk } = await newPrivateJwk(SIGNING_ALG);
    await repo.insert(kid, SIGNING_ALG, jwk);
  });
}

/**
 * Makes a new key the one that signs. The previous key stays in the JWKS for
 * `keepPublishedSeconds` (the longest life of anything it signed), then drops out.
 */
export async function rotateSigningKey(db: Db, keyring: Keyring, clock: Clock, keepPublishedSeconds: number): Promise<{ kid: string; retired: number }> {
  return db.transaction(async (tx) => {
    const repo = new SigningKeysRepo(tx, keyring);
    await repo.lockForChange();
    const now = clock.now();
    const retired = await repo.retireActive(SIGNING_ALG, now, new Date(now.getTime() + keepPublishedSeconds * 1000));
    const { kid, jwk } = await newPrivateJwk(SIGNING_ALG);
    await repo.insert(kid, SIGNING_ALG, jwk);
    return { kid, retired };
  });
}
