import type { AuditLogRepo, StoredEntry, StreamHead } from '../storage/audit-log-repo.ts';
import { entryHash, GENESIS } from './chain.ts';

/** Something the log shows was tampered with, and where. */
export interface Finding {
  problem:
    | 'changed' // an entry's content does not give its hash
    | 'missing' // positions skipped: entries removed
    | 'broken_link' // an entry does not follow the one before it
    | 'event_differs' // an entry and the event it names disagree
    | 'event_missing' // an entry names an event that does not exist
    | 'event_named_twice' // two entries name one event
    | 'no_entry' // an event has no entry: its entry was removed
    | 'behind_checkpoint' // a stream ends before a kept checkpoint's head: entries removed
    | 'differs_from_checkpoint'; // the entry at a checkpoint's head is not the one signed
  stream: string;
  /** The position named, when the finding is about one. */
  seq?: number;
  eventId?: number;
  message: string;
}

export interface VerifyReport {
  streams: number;
  entries: number;
  findings: Finding[];
}

const PAGE = 2000;

/**
 * Walks every stream from its first entry: positions run 1, 2, 3… without gaps, each entry
 * carries the hash of the one before (the first, 32 zero bytes), its hash is that of its
 * content, and it agrees with the event it was made from. Events since the log began must
 * each have exactly one entry. With `heads` (of a checkpoint whose signature was checked),
 * each stream must still hold that head: entries removed from the end of a stream, or a
 * history recomputed since, show there.
 */
export async function verifyChains(repo: AuditLogRepo, heads: StreamHead[] = []): Promise<VerifyReport> {
  const findings: Finding[] = [];
  const headOf = new Map(heads.map((h) => [h.stream, h]));
  const seen = new Set<string>();
  let entries = 0;
  let stream: string | undefined;
  let expected = 1;
  let prev: Buffer = GENESIS;

  const endOfStream = () => {
    const head = stream === undefined ? undefined : headOf.get(stream);
    if (stream !== undefined && head && head.seq >= expected) {
      findings.push({ problem: 'behind_checkpoint', stream, seq: head.seq, message: `ends at position ${expected - 1}, but the checkpoint holds position ${head.seq}: entries were removed` });
    }
  };

  let after: StoredEntry | undefined;
  for (;;) {
    const page = await repo.page(after && { stream: after.stream, seq: after.seq }, PAGE);
    if (!page.length) break;
    for (const e of page) {
      if (e.stream !== stream) {
        endOfStream();
        stream = e.stream;
        seen.add(stream);
        expected = 1;
        prev = GENESIS;
      }
      entries++;
      const seq = Number(e.seq);
      const at = { stream, seq };
      if (seq > expected) {
        findings.push({ problem: 'missing', ...at, seq: expected, message: `position${seq - expected > 1 ? `s ${expected}–${seq - 1} are` : ` ${expected} is`} missing: removed` });
      } else if (!e.prevHash.equals(prev)) {
        findings.push({
          problem: 'broken_link',
          ...at,
          message:
            seq === 1
              ? 'the first entry does not start the chain: entries before it were removed, or it was inserted'
              : `does not follow position ${seq - 1}: position ${seq - 1} was changed or inserted, or an entry between them was removed or moved`,
        });
      }
      if (!entryHash(e.prevHash, e).equals(e.hash)) findings.push({ problem: 'changed', ...at, message: 'its content does not match its hash: changed or moved' });
      findings.push(...eventFindings(e, at));
      const head = headOf.get(stream);
      if (head && head.seq === seq && head.hash !== e.hash.toString('hex')) {
        findings.push({ problem: 'differs_from_checkpoint', ...at, message: 'is not the entry the checkpoint signed: the history up to here was rewritten' });
      }
      prev = e.hash;
      expected = seq + 1;
    }
    after = page.at(-1);
  }
  endOfStream();
  for (const head of heads) {
    if (!seen.has(head.stream)) findings.push({ problem: 'behind_checkpoint', stream: head.stream, seq: head.seq, message: `has no entries, but the checkpoint holds position ${head.seq}: the stream was removed` });
  }
  for (const { eventId, stream: s } of await repo.eventsWithoutEntry()) {
    findings.push({ problem: 'no_entry', stream: s, eventId: Number(eventId), message: `event ${eventId} has no entry: its entry was removed` });
  }
  for (const { eventId, entries: named } of await repo.eventsNamedTwice()) {
    const [first, ...others] = named;
    for (const other of others) {
      findings.push({
        problem: 'event_named_twice',
        stream: other.stream,
        seq: Number(other.seq),
        eventId: Number(eventId),
        message: `names event ${eventId}, which ${first!.stream} position ${first!.seq} already names: one of them was inserted`,
      });
    }
  }
  return { streams: seen.size, entries, findings };
}

function eventFindings(e: StoredEntry, at: { stream: string; seq: number }): Finding[] {
  if (e.eventId === null) return [];
  const eventId = Number(e.eventId);
  if (!e.event) return [{ problem: 'event_missing', ...at, eventId, message: `names event ${e.eventId}, which does not exist: the entry was inserted or its event removed` }];
  const ev = e.event;
  const differing = (
    [
      ['type', e.action, ev.action],
      ['client', e.clientId, ev.clientId],
      ['user', e.userId, ev.userId],
      ['flow', e.flowId, ev.flowId],
      ['time', e.atMicros, ev.atMicros],
      ['payload', e.payloadDigest, ev.payloadDigest],
    ] as const
  )
    .filter(([, a, b]) => a !== b)
    .map(([name]) => name);
  return differing.length
    ? [{ problem: 'event_differs', ...at, eventId, message: `disagrees with event ${e.eventId} on its ${differing.join(', ')}: the entry or the event was changed` }]
    : [];
}
