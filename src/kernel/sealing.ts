import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Personal data at rest is sealed with AES-256-GCM. The envelope names the key that sealed
 * it, so keys can be rotated: new data is sealed with the first (active) key of the
 * keyring, and any key still in the keyring opens what it sealed.
 *
 * Envelope: `v1.<kid>.<iv base64url>.<ciphertext+tag base64url>`.
 */
export interface SealingKey {
  id: string;
  key: Buffer; // 32 bytes
}

export class Keyring {
  readonly active: SealingKey;
  readonly #byId: Map<string, SealingKey>;
  /** The keys as KeyObjects, made once: a raw Buffer key is converted on every cipher (≈3× slower). */
  readonly #objects: Map<string, KeyObject>;

  constructor(keys: SealingKey[]) {
    const [first] = keys;
    if (!first) throw new Error('the sealing keyring is empty');
    for (const k of keys) {
      if (k.key.length !== 32) throw new Error(`sealing key ${k.id} must be 32 bytes`);
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(k.id)) throw new Error(`sealing key id ${k.id} must be 1-32 of [A-Za-z0-9_-]`);
    }
    this.active = first;
    this.#byId = new Map(keys.map((k) => [k.id, k]));
    this.#objects = new Map(keys.map((k) => [k.id, createSecretKey(k.key)]));
  }

  /** `kid:base64key[,kid:base64key…]`, the active key first. */
  static parse(text: string): Keyring {
    const keys = text
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const at = part.indexOf(':');
        if (at <= 0) throw new Error('each key is written kid:base64');
        const key = Buffer.from(part.slice(at + 1), 'base64');
        return { id: part.slice(0, at), key };
      });
    return new Keyring(keys);
  }

  static generateText(id = `k${Date.now().toString(36)}`): string {
    return `${id}:${randomBytes(32).toString('base64')}`;
  }

  seal(plaintext: string | Buffer, context = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#objects.get(this.active.id)!, iv);
    // The context (e.g. table and column) is bound as associated data, so a sealed value
    // cannot be moved to another column and still open.
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return `v1.${this.active.id}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  openBuffer(envelope: string, context = ''): Buffer {
    const [version, kid, ivText, bodyText] = envelope.split('.');
    if (version !== 'v1' || !kid || !ivText || !bodyText) throw new Error('not a sealed value');
    const key = this.#byId.get(kid);
    if (!key) throw new Error(`sealing key ${kid} is not in the keyring`);
    const body = Buffer.from(bodyText, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.#objects.get(kid)!, Buffer.from(ivText, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
  }

  open(envelope: string, context = ''): string {
    return this.openBuffer(envelope, context).toString('utf8');
  }

  sealJson(value: unknown, context = ''): string {
    return this.seal(JSON.stringify(value), context);
  }

  openJson<T>(envelope: string, context = ''): T {
    return JSON.parse(this.open(envelope, context)) as T;
  }

  /** True when the value was sealed by a key other than the active one (re-seal it). */
  isStale(envelope: string): boolean {
    return envelope.split('.')[1] !== this.active.id;
  }
}

/** Derives a purpose-bound key from a root secret (HKDF-SHA256). */
export function deriveKey(root: Buffer, purpose: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), purpose, length));
}

/**
 * A blind index: a keyed hash that lets us find a row by a sealed value (an email, a phone)
 * without storing the value in clear.
 */
export function blindIndex(indexKey: Buffer | KeyObject, value: string): string {
  return createHmac('sha256', indexKey).update(value, 'utf8').digest('base64url');
}
