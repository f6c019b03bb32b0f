import { randomUUID } from 'node:crypto';
import { labelOf, type RequestNode } from './credential-requests.ts';
import { isMandatory, isRequired, type Draft, type DraftCell, type DraftValue } from './draft.ts';
import { OneClickError } from './errors.ts';
import { isRealDate } from './birth-date.ts';

/**
 * The Hosted review step: the draft as form fields the person sees, and the person's edits
 * applied back. A field id names one value: `birthDate`, `fullName.firstName`, and with
 * `multi` the value's index: `address.1.line1`.
 */
export interface PersonField {
  id: string;
  /** Credential key of the value (firstName, line1, birthDate…). */
  key: string;
  label: string;
  value: string;
  required: boolean;
  editable: boolean;
  description?: string;
  /** The composite and/or multi value the field belongs to. */
  group?: { key: string; label: string; index: number };
  /** How the shown value was verified (`self_attested` once typed). Absent when empty. */
  verificationMethod?: string;
  /** What the page shows instead of a secret value (an SSN: `•••-••-6789`). */
  masked?: string;
}

/**
 * Values a wallet never shows in full, with how each is masked. Once verified they cannot be
 * changed either: a typed replacement would go out under the verified one's name.
 */
const MASKS: Record<string, (value: string) => string> = {
  ssn: (value) => `•••-••-${value.replace(/\D/g, '').slice(-4)}`,
};

export function fieldsOf(draft: Draft): PersonField[] {
  const fields: PersonField[] = [];
  for (const { node, values } of draft.items) {
    const slots = Math.max(values.length, node.allowUserInput ? 1 : 0);
    for (let index = 0; index < slots; index++) {
      const value = values[index];
      const prefix = node.multi ? `${node.key}.${index}` : node.key;
      const group = node.children || node.multi ? { key: node.key, label: labelOf(node.key), index } : undefined;
      if (node.children) {
        for (const child of node.children) {
          const cell = value?.kind === 'object' ? value.cells[child.key] : undefined;
          fields.push(field(`${prefix}.${child.key}`, child, cell, index === 0 && isRequired(child.mandatory), child.allowUserInput, group));
        }
      } else {
        const cell = value?.kind === 'leaf' ? value.cell : undefined;
        // The verified phone number is what the code proved; it is shown, never edited.
        const editable = node.allowUserInput && cell?.origin !== 'identifier';
        fields.push(field(prefix, node, cell, index === 0 && isRequired(node.mandatory), editable, group));
      }
    }
  }
  return fields;
}

function field(id: string, node: RequestNode, cell: DraftCell | undefined, required: boolean, editable: boolean, group: PersonField['group']): PersonField {
  const mask = MASKS[node.key];
  const verified = cell !== undefined && cell.verificationMethod !== 'self_attested';
  return {
    id,
    key: node.key,
    label: labelOf(node.key),
    value: cell?.value ?? '',
    required,
    editable: editable && !(mask && verified),
    ...(node.description ? { description: node.description } : {}),
    ...(group ? { group } : {}),
    ...(cell ? { verificationMethod: cell.verificationMethod } : {}),
    ...(mask && cell ? { masked: mask(cell.value) } : {}),
  };
}

/**
 * The draft with the person's edits: typed values become `self_attested` with a new id,
 * cleared optional values disappear, required fields must be filled. Unknown or read-only
 * fields are refused rather than ignored, so a tampered form cannot pass silently.
 */
export function applyEdits(draft: Draft, edits: Record<string, string>): Draft {
  const fields = new Map(fieldsOf(draft).map((f) => [f.id, f]));
  const problems: string[] = [];
  for (const [id, raw] of Object.entries(edits)) {
    const f = fields.get(id);
    if (!f) problems.push(`${id} is not a field of this request`);
    else if (!f.editable && raw.trim() !== f.value) problems.push(`${f.label} cannot be changed`);
    else {
      const problem = valueProblem(f.key, raw.trim());
      if (problem) problems.push(`${f.label} ${problem}`);
    }
  }
  if (problems.length) throw new OneClickError('invalid_input', { explanation: problems.join('; ') });

  const items = draft.items.map(({ node, values }) => {
    const slots = Math.max(values.length, node.allowUserInput ? 1 : 0);
    const next: DraftValue[] = [];
    for (let index = 0; index < slots; index++) {
      const prefix = node.multi ? `${node.key}.${index}` : node.key;
      const value = values[index];
      if (node.children) {
        const cells: Record<string, DraftCell> = {};
        for (const child of node.children) {
          const current = value?.kind === 'object' ? value.cells[child.key] : undefined;
          const cell = edited(current, edits[`${prefix}.${child.key}`]);
          if (cell) cells[child.key] = cell;
        }
        if (Object.keys(cells).length) next.push({ kind: 'object', cells });
      } else {
        const current = value?.kind === 'leaf' ? value.cell : undefined;
        const cell = edited(current, edits[prefix]);
        if (cell) next.push({ kind: 'leaf', cell });
      }
    }
    return { node, values: next };
  });

  const missing: string[] = [];
  for (const { node, values } of items) {
    const first = values[0];
    if (node.children) {
      if (!first && (isRequired(node.mandatory) || node.children.some((c) => isRequired(c.mandatory)))) missing.push(labelOf(node.key));
      for (const v of values) {
        if (v.kind !== 'object') continue;
        for (const child of node.children) if (isRequired(child.mandatory) && !v.cells[child.key]) missing.push(labelOf(child.key));
      }
    } else if (!first && isRequired(node.mandatory)) {
      missing.push(labelOf(node.key));
    }
  }
  if (missing.length) throw new OneClickError('invalid_input', { explanation: `Please fill in: ${[...new Set(missing)].join(', ')}` });
  return { ...draft, items };
}

function edited(current: DraftCell | undefined, edit: string | undefined): DraftCell | undefined {
  if (edit === undefined) return current;
  const value = edit.trim();
  if (value === (current?.value ?? '')) return current;
  if (value === '') return undefined;
  return { value, id: randomUUID(), verificationMethod: 'self_attested', expirationDate: null, origin: 'person' };
}

function valueProblem(key: string, value: string): string | undefined {
  if (value.length > 200) return 'is too long';
  if (value === '') return undefined;
  if (key === 'birthDate' && !isRealDate(value)) return 'must be a date as YYYY-MM-DD';
  if (key === 'ssn' && !/^\d{9}$/.test(value.replace(/-/g, ''))) return 'must be 9 digits';
  if (key === 'zipCode' && !/^\d{5}(-\d{4})?$/.test(value)) return 'must be 5 digits (or ZIP+4)';
  if (key === 'email' && !/^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/.test(value)) return 'must be an email address';
  return undefined;
}

/** Requests whose missing value the person cannot supply: those end the request (OCE007). */
export function unfillable(draft: Draft, missing: RequestNode[]): RequestNode[] {
  return missing.filter((node) => !node.allowUserInput || (node.children ?? []).some((c) => isMandatory(c.mandatory) && !c.allowUserInput));
}
