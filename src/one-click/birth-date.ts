import type { OneClickEntity } from './entity.ts';

/**
 * How a brand reads and writes `birthDate`. `iso` (the default, Verified's current one):
 * `YYYY-MM-DD`. `unix_ms`: Unix time in milliseconds as a string, Verified's earlier default
 * and still a per-brand choice there; its example app reads it with `new Date(Number(x))`.
 */
export const BIRTH_DATE_FORMATS = ['iso', 'unix_ms'] as const;
export type BirthDateFormat = (typeof BIRTH_DATE_FORMATS)[number];

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const UNIX_MS = /^-?\d{1,15}$/;
const DAY_MS = 86_400_000;

/** YYYY-MM-DD naming a day that exists. */
export function isRealDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.getUTCFullYear() === Number(m[1]) && date.getUTCMonth() === Number(m[2]) - 1 && date.getUTCDate() === Number(m[3]);
}

/**
 * A birth date as a request may give it, as YYYY-MM-DD; undefined when it is neither form.
 * Both forms are read for every brand (they cannot be confused); Unix milliseconds name the
 * UTC day of that instant, which holds for the noon-UTC values idflow writes and for a
 * midnight in any American time zone.
 */
export function parseBirthDate(value: string): string | undefined {
  if (isRealDate(value)) return value;
  if (!UNIX_MS.test(value)) return undefined;
  const date = new Date(Number(value));
  if (Number.isNaN(date.getTime())) return undefined;
  const iso = date.toISOString().slice(0, 10);
  return isRealDate(iso) ? iso : undefined;
}

/**
 * A YYYY-MM-DD date in the brand's format. Unix milliseconds are noon UTC of that day, not
 * midnight: `new Date(Number(x))` shown in the reader's local time is then the same day
 * anywhere from UTC−11 to UTC+11, where midnight UTC would be the day before across the
 * Americas.
 */
export function formatBirthDate(iso: string, format: BirthDateFormat): string {
  if (format === 'iso' || !isRealDate(iso)) return iso;
  return String(Date.parse(`${iso}T00:00:00Z`) + DAY_MS / 2);
}

/** The entity with every `birthDate` value (one, several, or inside a composite) in the brand's format. */
export function withBirthDateFormat(entity: OneClickEntity, format: BirthDateFormat): OneClickEntity {
  if (format === 'iso') return entity;
  return { ...entity, credentials: rewrite(entity.credentials, format) as OneClickEntity['credentials'] };
}

function rewrite(node: unknown, format: BirthDateFormat, key?: string): unknown {
  if (typeof node === 'string') return key === 'birthDate' ? formatBirthDate(node, format) : node;
  if (Array.isArray(node)) return node.map((item) => rewrite(item, format, key));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, rewrite(v, format, k)]));
  return node;
}
