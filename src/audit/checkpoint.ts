import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { StreamHead } from '../storage/audit-log-repo.ts';

/**
 * A checkpoint: the head (position and hash) of every stream of the audit log at one moment,
 * their root hash, signed with the platform's Ed25519 audit key. An operator who keeps one
 * can later prove that everything up to it is unchanged, even against someone able to
 * recompute every hash in the database: they would need the private key (sealed with the
 * platform's keyring) to sign a different history. Format in docs/audit.md.
 */
export const CHECKPOINT_FORMAT = 'idflow-audit-checkpoint/1';

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  /** ISO 8601, UTC, milliseconds. */
  at: string;
  streams: StreamHead[];
  /** Hex SHA-256 over the heads (see `checkpointRoot`). */
  root: string;
  /** The audit key's id: its JWK thumbprint (RFC 7638). */
  kid: string;
  /** Ed25519 over `idflow-audit-checkpoint/1\n<at>\n<root>`, base64url. */
  signature: string;
}

export interface AuditKey {
  kid: string;
  privateKey: KeyObject;
  /** What operators hold to check signatures: `{kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig'}`. */
  publicJwk: JWK;
}

/** PKCS #8 for an Ed25519 private key is this prefix followed by its 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The audit key whose seed is `seed` (32 bytes, a sealed platform secret). */
export async function auditKey(seed: Buffer): Promise<AuditKey> {
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const { kty, crv, x } = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = await calculateJwkThumbprint({ kty: kty!, crv: crv!, x: x! });
  return { kid, privateKey, publicJwk: { kty, crv, x, kid, alg: 'EdDSA', use: 'sig' } };
}

/** Heads in byte order of their stream names: the order the root is taken in. */
function byStream(streams: StreamHead[]): StreamHead[] {
  return [...streams].sort((a, b) => Buffer.compare(Buffer.from(a.stream), Buffer.from(b.stream)));
}

/** SHA-256 over every head, each as `<stream>\n<seq>\n<hash>\n`, in byte order of stream names. */
export function checkpointRoot(streams: StreamHead[]): string {
  const hash = createHash('sha256').update('idflow-audit-root/1\n');
  for (const s of byStream(streams)) hash.update(`${s.stream}\n${s.seq}\n${s.hash}\n`, 'utf8');
  return hash.digest('hex');
}

const signedText = (at: string, root: string) => Buffer.from(`${CHECKPOINT_FORMAT}\n${at}\n${root}`, 'utf8');

export function signCheckpoint(key: AuditKey, at: Date, streams: StreamHead[]): Checkpoint {
  const heads = byStream(streams);
  const root = checkpointRoot(heads);
  const when = at.toISOString();
  return { format: CHECKPOINT_FORMAT, at: when, streams: heads, root, kid: key.kid, signature: sign(null, signedText(when, root), key.privateKey).toString('base64url') };
}

/** What is wrong with a checkpoint under `publicJwk`: an empty list when its root and signature hold. */
export function checkpointProblems(checkpoint: Checkpoint, publicJwk: JWK): string[] {
  const problems: string[] = [];
  if (checkpointRoot(checkpoint.streams) !== checkpoint.root) problems.push('its root is not the hash of the heads it lists');
  if (publicJwk.kid !== undefined && publicJwk.kid !== checkpoint.kid) problems.push(`it was signed with key ${checkpoint.kid}, not with the key given (${publicJwk.kid})`);
  else {
    let ok = false;
    try {
      ok = verify(null, signedText(checkpoint.at, checkpoint.root), createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicJwk.x! }, format: 'jwk' }), Buffer.from(checkpoint.signature, 'base64url'));
    } catch {
      ok = false;
    }
    if (!ok) problems.push('its signature does not verify');
  }
  return problems;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * A checkpoint from what an operator kept: the checkpoint itself, or the event or
 * notification carrying it (under `payload` or `data`). Throws a message on anything else.
 */
export function parseCheckpoint(input: unknown): Checkpoint {
  const object = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  let c = input;
  for (const wrapper of ['payload', 'data']) if (object(c) && c.format === undefined && object(c[wrapper])) c = c[wrapper];
  if (!object(c) || c.format !== CHECKPOINT_FORMAT) throw new Error(`not an audit checkpoint (expected "format": "${CHECKPOINT_FORMAT}")`);
  const { at, streams, root, kid, signature } = c;
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) throw new Error('checkpoint: "at" must be a date-time');
  if (typeof root !== 'string' || !HEX64.test(root)) throw new Error('checkpoint: "root" must be 64 hex digits');
  if (typeof kid !== 'string' || !kid) throw new Error('checkpoint: "kid" is missing');
  if (typeof signature !== 'string' || !/^[A-Za-z0-9_-]+$/.test(signature)) throw new Error('checkpoint: "signature" must be base64url');
  if (!Array.isArray(streams)) throw new Error('checkpoint: "streams" must be a list');
  const heads = streams.map((s, i): StreamHead => {
    if (!object(s) || typeof s.stream !== 'string' || !Number.isSafeInteger(s.seq) || (s.seq as number) < 1 || typeof s.hash !== 'string' || !HEX64.test(s.hash)) {
      throw new Error(`checkpoint: streams[${i}] must be {stream, seq, hash}`);
    }
    return { stream: s.stream, seq: s.seq as number, hash: s.hash };
  });
  return { format: CHECKPOINT_FORMAT, at, streams: heads, root, kid, signature };
}
