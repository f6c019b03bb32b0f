import { createSecretKey, type KeyObject } from 'node:crypto';
import { blindIndex, type Keyring } from '../kernel/sealing.ts';

/**
 * What a repository needs to keep personal data out of the database in clear: sealing
 * (reversible, for values we must show again) and blind indexes (one-way, for lookups).
 */
export class Sealer {
  readonly keyring: Keyring;
  readonly #indexKey: KeyObject;

  constructor(keyring: Keyring, indexKey: Buffer) {
    this.keyring = keyring;
    // Made once: an HMAC over a raw Buffer key converts it on every call.
    this.#indexKey = createSecretKey(indexKey);
  }

  seal(value: string, context: string): string {
    return this.keyring.seal(value, context);
  }

  open(sealed: string, context: string): string {
    return this.keyring.open(sealed, context);
  }

  sealOptional(value: string | undefined | null, context: string): string | null {
    return value == null ? null : this.seal(value, context);
  }

  openOptional(sealed: string | undefined | null, context: string): string | undefined {
    return sealed == null ? undefined : this.open(sealed, context);
  }

  index(kind: string, value: string): string {
    return blindIndex(this.#indexKey, `${kind}:${value}`);
  }
}
