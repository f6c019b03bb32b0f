import type { RiskSignals } from './errors.ts';
import type { Draft, DraftCell, DraftValue } from './draft.ts';

type Shape<T> = T | T[] | Record<string, T> | Record<string, T>[];

/**
 * Verified's `1ClickEntity`. It carries no uuid (the uuid travels beside it). The metadata
 * mirrors `credentials` key for key and in the same array order, once per metadata key.
 */
export interface OneClickEntity {
  identifiers: { phone: string; email?: string };
  credentials: Record<string, Shape<string>>;
  metadata: {
    identifiers: { verificationMethod: Record<string, string>; riskSignals?: RiskSignals };
    credentials: {
      id: Record<string, Shape<string>>;
      verificationMethod: Record<string, Shape<string>>;
      status: Record<string, Shape<string>>;
      expirationDate: Record<string, Shape<string | null>>;
    };
  };
}

export function renderEntity(draft: Draft): OneClickEntity {
  const credentials: OneClickEntity['credentials'] = {};
  const meta: OneClickEntity['metadata']['credentials'] = { id: {}, verificationMethod: {}, status: {}, expirationDate: {} };
  for (const { node, values } of draft.items) {
    if (values.length === 0) continue;
    const pick = <T>(f: (c: DraftCell) => T): Shape<T> => {
      const one = (v: DraftValue): T | Record<string, T> => (v.kind === 'leaf' ? f(v.cell) : orderedCells(v.cells, node.children?.map((c) => c.key), f));
      return (node.multi ? values.map(one) : one(values[0]!)) as Shape<T>;
    };
    credentials[node.key] = pick((c) => c.value);
    meta.id[node.key] = pick((c) => c.id);
    meta.verificationMethod[node.key] = pick((c) => c.verificationMethod);
    meta.status[node.key] = pick(() => 'valid');
    meta.expirationDate[node.key] = pick((c) => c.expirationDate);
  }
  const { phone, email } = draft.identifiers;
  return {
    identifiers: { phone, ...(email ? { email } : {}) },
    credentials,
    metadata: {
      identifiers: {
        verificationMethod: { phone: draft.phoneMethod, ...(email ? { email: 'self_attested' } : {}) },
        ...(draft.riskSignals ? { riskSignals: draft.riskSignals } : {}),
      },
      credentials: meta,
    },
  };
}

/** The parts in request order, so values and metadata list their keys alike. */
function orderedCells<T>(cells: Record<string, DraftCell>, order: string[] | undefined, f: (c: DraftCell) => T): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of order ?? Object.keys(cells)) if (cells[key]) out[key] = f(cells[key]);
  return out;
}
