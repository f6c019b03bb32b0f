// Audit appends per second with 32 concurrent writers, against the same writes without the
// chain, in the same run (`npx node bench/audit.ts`; bench/README.md). A write is one event
// inserted in its own transaction, as the platform writes them; with the chain, each commits
// its audit entry (staged, then chained at commit under its stream's lock); without, the
// audit trigger is switched off and nothing else changes. Streams: every writer its own
// client, four clients shared by eight writers each, and one client for all (the worst case:
// every commit waits for the one before it). The target is judged on the first: in production
// every client's entries form a stream of their own (`client:<id>`), so writers for different
// clients never wait for each other; the other two show what sharing a stream costs.
import { verifyChains } from '../src/audit/verify.ts';
import { AuditLogRepo } from '../src/storage/audit-log-repo.ts';
import { openDb, type Db } from '../src/storage/db.ts';
import { migrate } from '../src/storage/migrate.ts';
import { createBenchDatabase, postgresVersion } from './lib/database.ts';
import { knobs } from './lib/settings.ts';
import { benchLog as log, leftToComparison, saveResult } from './lib/standalone.ts';

const WRITERS = 32;
const TARGET = 0.5;
const k = knobs();
const SECONDS = k.seconds;
const WARM_UP_MS = k.warmupSeconds * 1000;
const SCENARIOS = [
  { name: 'a stream per writer', streams: 32 },
  { name: '4 streams, 8 writers each', streams: 4 },
  { name: 'one stream for all', streams: 1 },
] as const;
/** The layout the target is judged on: a stream per writer, as every client has its own in production. */
const JUDGED = SCENARIOS[0];

/** Writes per second over the window, after a warm-up, each writer one write in flight. */
async function measure(db: Db, streams: number): Promise<{ perSecond: number; p50Ms: number; p99Ms: number; writes: number }> {
  let counting = false;
  let stop = false;
  const latencies: number[] = [];
  const writer = async (w: number) => {
    const clientId = `bench-${w % streams}`;
    while (!stop) {
      const started = performance.now();
      await db.query(`insert into events (type, client_id, payload, created_at) values ('bench.write', $1, $2, now())`, [clientId, JSON.stringify({ w })]);
      if (counting && !stop) latencies.push(performance.now() - started);
    }
  };
  const running = Array.from({ length: WRITERS }, (_, w) => writer(w));
  await new Promise((r) => setTimeout(r, WARM_UP_MS));
  counting = true;
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  stop = true;
  await Promise.all(running);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 100) / 100;
  return { perSecond: Math.round(latencies.length / SECONDS), p50Ms: at(0.5), p99Ms: at(0.99), writes: latencies.length };
}

async function main(): Promise<void> {
  const database = await createBenchDatabase();
  let db: Db | undefined;
  try {
    db = await openDb({ databaseUrl: database.url, poolSize: WRITERS });
    await migrate(db);
    log(`database ${database.name}; ${WRITERS} writers, ${SECONDS} s windows after ${WARM_UP_MS / 1000} s of warm-up`);
    const figures = [];
    for (const scenario of SCENARIOS) {
      await db.query('alter table events disable trigger events_audit');
      const plain = await measure(db, scenario.streams);
      await db.query('alter table events enable trigger events_audit');
      const chained = await measure(db, scenario.streams);
      const ratio = Math.round((chained.perSecond / plain.perSecond) * 100) / 100;
      figures.push({ scenario: scenario.name, streams: scenario.streams, chained, plain, ratio });
      log(`${scenario.name}: ${chained.perSecond}/s chained, ${plain.perSecond}/s plain, ratio ${ratio}`);
    }
    // The chains the load wrote must verify (the events written without the chain have no entry, by design).
    const report = await verifyChains(new AuditLogRepo(db));
    const broken = report.findings.filter((f) => f.problem !== 'no_entry');
    if (broken.length) throw new Error(`the chains the bench wrote do not verify: ${JSON.stringify(broken.slice(0, 3))}`);

    const judged = figures.find((f) => f.streams === JUDGED.streams)!;
    const pass = judged.ratio >= TARGET;
    const lines = [
      `audit appends, ${WRITERS} concurrent writers, one event per transaction`,
      '  streams                      chained/s  p50 ms  p99 ms   plain/s  p50 ms  p99 ms   ratio',
      ...figures.map(
        (f) =>
          `  ${f.scenario.padEnd(27)} ${String(f.chained.perSecond).padStart(9)} ${String(f.chained.p50Ms).padStart(7)} ${String(f.chained.p99Ms).padStart(7)}` +
          ` ${String(f.plain.perSecond).padStart(9)} ${String(f.plain.p50Ms).padStart(7)} ${String(f.plain.p99Ms).padStart(7)} ${f.ratio.toFixed(2).padStart(7)}`,
      ),
      `  the ${report.entries} entries written verify (${report.streams} streams)`,
      `  target chained ≥ ${TARGET} × plain with ${JUDGED.name} (every client's entries are a stream of their own in production): ${judged.ratio.toFixed(2)} ${pass ? 'PASS' : 'FAIL'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    await saveResult('audit', k, {
      postgres: await postgresVersion(database.url),
      writers: WRITERS,
      seconds: SECONDS,
      warmupSeconds: WARM_UP_MS / 1000,
      figures,
      target: TARGET,
      judgedOn: JUDGED.name,
      pass,
      table: lines,
    });
  } finally {
    await db?.close().catch(() => {});
    await database.drop().catch(() => {});
  }
}

if (!leftToComparison('audit', k, false)) await main();
