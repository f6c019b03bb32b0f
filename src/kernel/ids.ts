import { randomBytes, randomInt, randomUUID } from 'node:crypto';

const USER_ID = /^usr:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function newUserId(): string {
  return `usr:${randomUUID()}`;
}

/** The uuid inside a `usr:<uuid>` id, or undefined when the text is not one. */
export function userUuid(userId: string): string | undefined {
  return USER_ID.exec(userId)?.[1];
}

export function userIdFromUuid(uuid: string): string {
  return `usr:${uuid}`;
}

/** An unguessable token (256 bits), base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** A numeric code of `digits` digits from the CSPRNG, uniformly distributed. */
export function numericCode(digits: number): string {
  return String(randomInt(0, 10 ** digits)).padStart(digits, '0');
}
