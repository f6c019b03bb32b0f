import { randomUUID } from 'node:crypto';
import { compositeOf, MAX_MULTI, type RequestNode } from './credential-requests.ts';
import type { RiskSignals } from './errors.ts';
import type { Candidate, Sourced, SourcedCell } from './sources/source.ts';

/** Where a value came from: only `source` values are wallet/directory data a consent names. */
export type Origin = 'source' | 'identifier' | 'operator' | 'person';

export interface DraftCell extends SourcedCell {
  origin: Origin;
}

export type DraftValue = { kind: 'leaf'; cell: DraftCell } | { kind: 'object'; cells: Record<string, DraftCell> };

export interface DraftItem {
  node: RequestNode;
  /** 0 to 3 values (1 unless the request is `multi`), best first. */
  values: DraftValue[];
}

/**
 * What would be shared, in request order: the requested credentials only, each value with
 * its provenance. Semi-Hosted and Non-Hosted render it at once; Hosted shows it to the
 * person, who may edit it before it is rendered.
 */
export interface Draft {
  items: DraftItem[];
  identifiers: { phone: string; email?: string };
  /** How the phone identifier was verified: `otp` (the person typed idflow's code) or `customer_otp` (the operator's own). */
  phoneMethod: 'otp' | 'customer_otp';
  userId?: string;
  riskSignals?: RiskSignals;
}

export interface DraftContext {
  phone: string;
  phoneMethod: 'otp' | 'customer_otp';
  /** What the operator sent; kept as self_attested values when nothing better is found. */
  email?: string | undefined;
  birthDate?: string | undefined;
}

const MANDATORY = (m: string) => m === 'yes';
const REQUIRED = (m: string) => m === 'yes' || m === 'if_available';

export function buildDraft(nodes: RequestNode[], sourced: Sourced, context: DraftContext): Draft {
  const items = nodes.map((node) => ({ node, values: select(node, candidatesFor(node, sourced, context)) }));
  return {
    items,
    identifiers: { phone: context.phone, ...(context.email ? { email: context.email } : {}) },
    phoneMethod: context.phoneMethod,
    ...(sourced.userId ? { userId: sourced.userId } : {}),
    ...(sourced.riskSignals ? { riskSignals: sourced.riskSignals } : {}),
  };
}

function fresh(value: string, verificationMethod: string, origin: Origin): DraftCell {
  return { value, id: randomUUID(), verificationMethod, expirationDate: null, origin };
}

const fromSource = (cell: SourcedCell): DraftCell => ({ ...cell, origin: 'source' });

function candidatesFor(node: RequestNode, sourced: Sourced, context: DraftContext): DraftValue[] {
  const key = node.key;
  const parent = node.children ? undefined : compositeOf(key);
  let found: Candidate[] = sourced.byKey.get(parent ?? key) ?? [];
  if (parent) {
    // A part asked for on its own (FirstNameCredential at the top): that part of each composite.
    found = found.flatMap((c): Candidate[] => (c.kind === 'object' && c.cells[key] ? [{ kind: 'leaf', cell: c.cells[key] }] : []));
  }
  const values: DraftValue[] = found.map((c) => (c.kind === 'leaf' ? { kind: 'leaf', cell: fromSource(c.cell) } : { kind: 'object', cells: mapCells(c.cells, fromSource) }));
  const leafs = () => values.flatMap((v) => (v.kind === 'leaf' ? [v.cell.value] : []));
  if (key === 'phone') {
    // The number just verified leads; other numbers in the wallet follow.
    const others = values.filter((v) => !(v.kind === 'leaf' && v.cell.value === context.phone));
    const own = values.find((v) => v.kind === 'leaf' && v.cell.value === context.phone);
    return [own ?? { kind: 'leaf', cell: fresh(context.phone, context.phoneMethod, 'identifier') }, ...others];
  }
  if (key === 'email' && context.email && !leafs().some((e) => e.toLowerCase() === context.email!.toLowerCase())) values.push({ kind: 'leaf', cell: fresh(context.email, 'self_attested', 'operator') });
  if (key === 'birthDate' && context.birthDate && values.length === 0) values.push({ kind: 'leaf', cell: fresh(context.birthDate, 'self_attested', 'operator') });
  return values;
}

function mapCells(cells: Record<string, SourcedCell>, f: (c: SourcedCell) => DraftCell): Record<string, DraftCell> {
  return Object.fromEntries(Object.entries(cells).map(([k, c]) => [k, f(c)]));
}

/** Keeps the requested parts, drops values that lack a mandatory part, keeps 1 (or up to 3). */
function select(node: RequestNode, values: DraftValue[]): DraftValue[] {
  const shaped: DraftValue[] = [];
  for (const value of values) {
    if (node.children) {
      if (value.kind !== 'object') continue;
      const cells: Record<string, DraftCell> = {};
      for (const child of node.children) if (value.cells[child.key]) cells[child.key] = value.cells[child.key]!;
      if (Object.keys(cells).length === 0) continue;
      if (node.children.some((c) => MANDATORY(c.mandatory) && !cells[c.key])) continue;
      shaped.push({ kind: 'object', cells });
    } else if (value.kind === 'leaf') {
      shaped.push(value);
    }
  }
  return shaped.slice(0, node.multi ? MAX_MULTI : 1);
}

/** Requests with `mandatory: "yes"` (on themselves or a part) that have no value. */
export function missingMandatory(draft: Draft): RequestNode[] {
  return draft.items
    .filter(({ node, values }) => values.length === 0 && (MANDATORY(node.mandatory) || (node.children ?? []).some((c) => MANDATORY(c.mandatory))))
    .map((i) => i.node);
}

/**
 * Whether the source contributed anything beyond the identifiers and what the operator
 * sent: if not, there is nothing to share (OCE013), even when only identifiers were asked.
 */
export function foundAnything(draft: Draft, sourced: Sourced): boolean {
  if (draft.items.some((i) => i.values.some((v) => cellsOf(v).some((c) => c.origin === 'source')))) return true;
  // Only identifiers asked for: a known person is enough.
  return draft.items.every((i) => i.node.key === 'phone' || i.node.key === 'email') && (sourced.userId !== undefined || sourced.byKey.size > 0);
}

export function cellsOf(value: DraftValue): DraftCell[] {
  return value.kind === 'leaf' ? [value.cell] : Object.values(value.cells);
}

/** The wallet credentials a share discloses (what the consent names). */
export function walletCredentialIds(draft: Draft): string[] {
  const ids = new Set<string>();
  for (const item of draft.items) for (const v of item.values) for (const c of cellsOf(v)) if (c.origin === 'source' && c.walletCredentialId) ids.add(c.walletCredentialId);
  return [...ids];
}

export { REQUIRED as isRequired, MANDATORY as isMandatory };
