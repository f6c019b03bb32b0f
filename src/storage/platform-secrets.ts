import { randomBytes } from 'node:crypto';
import type { Keyring } from '../kernel/sealing.ts';
import type { Queryable } from './db.ts';

/**
 * Secrets the platform makes for itself (cookie keys, the blind-index key): generated once,
 * stored sealed, the same for every node. The first node to start creates them; the
 * `on conflict` keeps whichever one won a race.
 */
export async function platformSecret(db: Queryable, keyring: Keyring, name: string, bytes = 32): Promise<Buffer> {
  const context = `platform_secrets:${name}`;
  await db.query('insert into platform_secrets (name, sealed) values ($1, $2) on conflict (name) do nothing', [
    name,
    keyring.seal(randomBytes(bytes), context),
  ]);
  const [row] = await db.query<{ sealed: string }>('select sealed from platform_secrets where name = $1', [name]);
  return keyring.openBuffer(row!.sealed, context);
}
