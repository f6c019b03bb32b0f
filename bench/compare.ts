// `BENCH_BASELINE=<commit> npm run bench`: the core figures (a), (b), (c) and (f) of an older
// commit and of this tree, in one run, so that both meet the same machine. The older commit is
// checked out in a temporary worktree (bench/lib/baseline-tree.ts); each tree sets up its own
// fresh database through its own code and serves from its own src/main.ts. Per figure, the two
// trees take turns in the order old, new, new, old, … so that drift on a shared machine falls
// on both alike. Then the flow benches (1-Click, Web KYC hand-over), each tree running its own
// scripts, in the same turns. The verdict: the ratios b/a and c/f of this tree are at least
// 90 % of the older tree's, and so is each flow figure's rate. bench/README.md says how to read it.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { checkOutBaseline, type BaselineTree } from './lib/baseline-tree.ts';
import { createBenchDatabase, postgresVersion } from './lib/database.ts';
import { LABELS, signInChain, startLibraryAlone, type Figures } from './lib/figures.ts';
import { setUpIdflow, startIdflow, type IdflowSetup } from './lib/idflow-server.ts';
import type { CpuShare } from './lib/cpu.ts';
import { FLOW_BENCHES, FLOW_FIGURES, runFlowBench, type FlowFigure, type FlowMeasurement, type FlowTree } from './lib/flow-benches.ts';
import { num, type Figure } from './lib/report.ts';
import { gitState, type GitState, type Knobs } from './lib/settings.ts';
import type { Teardown } from './lib/teardown.ts';

export interface CompareContext {
  k: Knobs;
  /** This tree. */
  root: string;
  results: string;
  startedAt: Date;
  teardown: Teardown;
  figures: Figures;
  log: (line: string) => void;
}

/** The figures compared, in the order they are measured. */
const COMPARED = ['argon2', 'signIn', 'refresh', 'refreshAlone'] as const;
type Compared = (typeof COMPARED)[number];
type TreeName = 'old' | 'new';

/** The most this tree's ratios may fall below the older tree's: at most 10 % costlier. */
const ALLOWED_COST = 0.1;
const RATIOS = [
  { key: 'signInOverArgon2', name: 'b/a  sign-ins / raw argon2id hashes', over: ['signIn', 'argon2'] },
  { key: 'refreshOverLibrary', name: 'c/f  refresh / oidc-provider alone', over: ['refresh', 'refreshAlone'] },
] as const;

/** A figure over all its rounds: rate over the summed windows, latency as the rounds' median. */
interface Pooled {
  perSecond: number;
  p50: number;
  p99: number;
  perServerCpuSecond: number | null;
  /** CPU milliseconds per request: of the server (for (a), the hashing process) and of all three (server, PostgreSQL, load generator). */
  serverCpuMs: number;
  totalCpuMs: number;
  requests: number;
  errors: number;
  errorSamples: string[];
  /** Each round's rate, in the order measured. */
  rounds: number[];
}

interface Tree {
  name: TreeName;
  root: string;
  describe: string;
  setup?: IdflowSetup;
  runs: Record<Compared, Figure[]>;
  flow: FlowTree;
  flowRuns: Record<FlowFigure, FlowMeasurement[]>;
}

export async function compare(ctx: CompareContext): Promise<number> {
  const { k, log, teardown } = ctx;
  if (k.only || k.cluster || k.profile) log('BENCH_ONLY, BENCH_CLUSTER and BENCH_PROFILE do not apply to a comparison: it measures (a), (b), (c) and (f), single process');
  const baseline: BaselineTree = await checkOutBaseline(ctx.root, k.baseline!, teardown, log);
  const current: GitState = await gitState(ctx.root);
  const empty = () => Object.fromEntries(COMPARED.map((key) => [key, [] as Figure[]])) as Record<Compared, Figure[]>;
  const emptyFlows = () => Object.fromEntries(FLOW_FIGURES.map((f) => [f.key, [] as FlowMeasurement[]])) as Record<FlowFigure, FlowMeasurement[]>;
  const flowResults = await mkdtemp(join(tmpdir(), 'idflow-bench-flows-'));
  teardown.add(`the flow benches' results ${flowResults}`, () => rm(flowResults, { recursive: true, force: true }));
  const trees: Tree[] = [
    { name: 'old', root: baseline.root, describe: `${baseline.commit} (BENCH_BASELINE=${baseline.revision}); dependencies: ${baseline.dependencies}`, runs: empty(), flow: { root: baseline.root, benchDir: baseline.ownBench, resultsDir: join(baseline.root, 'bench', 'results') }, flowRuns: emptyFlows() },
    {
      name: 'new',
      root: ctx.root,
      describe: `${current.commit}${current.uncommitted.length ? ` + uncommitted changes in ${current.uncommitted.join(', ')}` : ''} (this tree)`,
      runs: empty(),
      flow: { root: ctx.root, benchDir: join(ctx.root, 'bench'), resultsDir: flowResults },
      flowRuns: emptyFlows(),
    },
  ];
  for (const tree of trees) {
    const db = await createBenchDatabase();
    if (!k.keepDatabase) teardown.add(`database ${db.name}`, () => db.drop());
    tree.setup = await setUpIdflow(tree.root, db, k, log);
  }

  const order: string[] = [];
  for (const key of COMPARED) {
    for (let round = 0; round < k.rounds; round++) {
      for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) {
        log(`${tree.name} tree, round ${round + 1} of ${k.rounds}`);
        tree.runs[key].push(await measureOne(ctx, tree.setup!, key));
        order.push(`${key} ${tree.name}`);
      }
    }
  }
  for (const bench of FLOW_BENCHES) {
    for (let round = 0; round < k.rounds; round++) {
      for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) {
        log(`${tree.name} tree, ${bench}, round ${round + 1} of ${k.rounds}`);
        const figures = await runFlowBench(tree.flow, bench, log);
        for (const [key, m] of Object.entries(figures) as [FlowFigure, FlowMeasurement][]) tree.flowRuns[key].push(m);
        order.push(`${bench} ${tree.name}`);
      }
    }
  }

  const pooled = Object.fromEntries(trees.map((t) => [t.name, Object.fromEntries(COMPARED.map((key) => [key, pool(t.runs[key])]))])) as Record<TreeName, Record<Compared, Pooled>>;
  const ratios = RATIOS.map((r) => {
    const of = (tree: TreeName) => pooled[tree][r.over[0]].perSecond / pooled[tree][r.over[1]].perSecond;
    const change = of('new') / of('old');
    return { ...r, old: of('old'), new: of('new'), change, pass: change >= 1 - ALLOWED_COST };
  });
  const flowPooled = Object.fromEntries(trees.map((t) => [t.name, Object.fromEntries(FLOW_FIGURES.map((f) => [f.key, pool(t.flowRuns[f.key])]))])) as Record<TreeName, Record<FlowFigure, Pooled>>;
  const flowChanges = FLOW_FIGURES.map((f) => {
    const change = flowPooled.new[f.key].perSecond / flowPooled.old[f.key].perSecond;
    return { key: f.key, name: f.label, old: flowPooled.old[f.key].perSecond, new: flowPooled.new[f.key].perSecond, change, pass: change >= 1 - ALLOWED_COST };
  });
  // The same two questions answered from CPU cost instead of rates: other load on the machine
  // hardly moves them, but PostgreSQL's share counts every database on it. Informative only.
  const byCpu = [
    { key: 'signInOverArgon2ByCpu', name: '     b/a from CPU cost (CPU per hash / per sign-in)', of: (t: TreeName) => pooled[t].argon2.serverCpuMs / pooled[t].signIn.totalCpuMs },
    { key: 'refreshOverLibraryByCpu', name: '     c/f from CPU cost (CPU per (f) / per (c))', of: (t: TreeName) => pooled[t].refreshAlone.totalCpuMs / pooled[t].refresh.totalCpuMs },
  ].map((r) => ({ key: r.key, name: r.name, old: r.of('old'), new: r.of('new'), change: r.of('new') / r.of('old') }));
  const all = trees.flatMap((t) => [...COMPARED.flatMap((key) => t.runs[key]), ...FLOW_FIGURES.flatMap((f) => t.flowRuns[f.key])]);
  const valid = all.every((f) => f.errors === 0 && f.requests > 0);
  const pass = valid && ratios.every((r) => r.pass) && flowChanges.every((r) => r.pass);
  const noisiest = Math.max(0, ...all.map((f) => (f.cpu?.other ?? 0) + (f.cpu?.steal ?? 0)));
  // How far one tree's rounds of one figure lie apart, against its pooled rate: when that is
  // more than the margin, the machine alone could have made the verdict.
  const spreads = trees.flatMap((t) => COMPARED.map((key) => {
    const p = pooled[t.name][key];
    return { tree: t.name, figure: key, spread: p.rounds.length > 1 ? (Math.max(...p.rounds) - Math.min(...p.rounds)) / p.perSecond : 0 };
  }));
  const widest = spreads.reduce((a, b) => (b.spread > a.spread ? b : a));
  const steady = widest.spread <= ALLOWED_COST;
  const argon2Params = Object.fromEntries(trees.map((t) => [t.name, (t.runs.argon2[0] as Figure & { params?: unknown } | undefined)?.params]));

  const lines = table({ ctx, trees, pooled, flowPooled, ratios, flowChanges, byCpu, valid, pass, noisiest, widest, steady, argon2Params });
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(text);

  const result = {
    bench: 'compare',
    command: k.command,
    startedAt: ctx.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    baseline: { ...baseline, root: undefined },
    current,
    node: process.version,
    cores: ctx.figures.cores,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    postgres: await postgresVersion(trees[1]!.setup!.database.url),
    settings: {
      warmupSeconds: k.warmupSeconds,
      seconds: k.seconds,
      rounds: k.rounds,
      maxRequests: k.maxRequests,
      connections: k.connections,
      signInConnections: k.signInConnections,
      argon2InFlight: k.argon2InFlight,
      uvThreadpoolSize: k.threadpool,
      serverLogLevel: k.serverLogLevel,
      users: k.users,
      argon2: argon2Params,
    },
    order,
    rule: `(b/a)new >= ${1 - ALLOWED_COST} x (b/a)old, (c/f)new >= ${1 - ALLOWED_COST} x (c/f)old, and each flow figure's rate new >= ${1 - ALLOWED_COST} x old`,
    ratios: Object.fromEntries([...ratios, ...byCpu].map((r) => [r.key, { old: r.old, new: r.new, change: r.change, ...('pass' in r ? { pass: r.pass } : {}) }])),
    flowChanges: Object.fromEntries(flowChanges.map((r) => [r.key, { old: r.old, new: r.new, change: r.change, pass: r.pass }])),
    flowPooled,
    flowFigures: Object.fromEntries(trees.map((t) => [t.name, t.flowRuns])),
    valid,
    pass,
    steady,
    widestSpread: widest,
    pooled,
    figures: Object.fromEntries(trees.map((t) => [t.name, t.runs])),
    table: lines,
  };
  const stamp = ctx.startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  await mkdir(ctx.results, { recursive: true });
  const file = join(ctx.results, `${stamp}-compare.json`);
  const json = `${JSON.stringify(result, null, 2)}\n`;
  await writeFile(file, json);
  await writeFile(join(ctx.results, 'latest-compare.json'), json);
  process.stdout.write(`saved ${relative(ctx.root, file)} and bench/results/latest-compare.json\n`);
  if (!valid) log('FAILED: a request went wrong (see the errors); the comparison does not count');
  return pass ? 0 : 1;
}

/** One window of one figure on one tree, each idflow window on a fresh server process. */
function measureOne(ctx: CompareContext, setup: IdflowSetup, key: Compared): Promise<Figure> {
  const { figures, teardown } = ctx;
  switch (key) {
    case 'argon2':
      return figures.argon2(setup.root, setup.env);
    case 'signIn':
      return teardown.serve(startIdflow(setup), (idflow) => figures.signIn(idflow, setup.users));
    case 'refresh':
      return teardown.serve(startIdflow(setup), (idflow) => figures.refresh(idflow, 'refresh', LABELS.refresh, signInChain(setup.users)));
    case 'refreshAlone':
      return teardown.serve(startLibraryAlone(setup.root, setup.logFile), (alone) => figures.refresh(alone, 'refreshAlone', LABELS.refreshAlone, alone.mint));
  }
}

function pool(runs: (FlowMeasurement | Figure)[]): Pooled {
  const median = (values: number[]) => {
    const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
    if (!sorted.length) return NaN;
    const mid = sorted.length / 2;
    return Number.isInteger(mid) ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[Math.floor(mid)]!;
  };
  const requests = runs.reduce((sum, f) => sum + f.requests, 0);
  const seconds = runs.reduce((sum, f) => sum + f.seconds, 0);
  // CPU in core-seconds over all windows; NaN where /proc gave none.
  const cpuSeconds = (of: (cpu: CpuShare) => number | null) => runs.reduce((sum, f) => sum + (f.cpu ? (of(f.cpu) ?? NaN) : NaN) * f.seconds, 0);
  const serverCpu = cpuSeconds((c) => c.server);
  const totalCpu = cpuSeconds((c) => (c.server === null || c.postgres === null ? null : c.server + c.postgres + c.loadGenerator));
  return {
    perSecond: requests / seconds,
    p50: median(runs.map((f) => f.latency.p50)),
    p99: median(runs.map((f) => f.latency.p99)),
    perServerCpuSecond: serverCpu > 0 ? requests / serverCpu : null,
    serverCpuMs: (serverCpu / requests) * 1000,
    totalCpuMs: (totalCpu / requests) * 1000,
    requests,
    errors: runs.reduce((sum, f) => sum + f.errors, 0),
    errorSamples: [...new Set(runs.flatMap((f) => f.errorSamples))].slice(0, 5),
    rounds: runs.map((f) => f.perSecond),
  };
}

function table(r: {
  ctx: CompareContext;
  trees: Tree[];
  pooled: Record<TreeName, Record<Compared, Pooled>>;
  flowPooled: Record<TreeName, Record<FlowFigure, Pooled>>;
  ratios: { name: string; old: number; new: number; change: number; pass: boolean }[];
  flowChanges: { name: string; old: number; new: number; change: number; pass: boolean }[];
  byCpu: { name: string; old: number; new: number; change: number }[];
  valid: boolean;
  pass: boolean;
  noisiest: number;
  widest: { tree: TreeName; figure: Compared; spread: number };
  steady: boolean;
  argon2Params: Record<string, unknown>;
}): string[] {
  const { k } = r.ctx;
  const change = (n: number, o: number) => num(n / o, 3);
  const pct = (v: number) => `${v >= 1 ? '+' : ''}${num((v - 1) * 100, 1)} %`;
  const lines = [
    '',
    `idflow bench comparison — ${r.ctx.startedAt.toISOString()}`,
    `command   ${k.command}`,
    ...r.trees.map((t) => `${t.name.padEnd(10)}${t.describe}`),
    `machine   ${r.ctx.figures.cores} cores (os.availableParallelism()), ${cpus()[0]?.model ?? 'unknown'}; Node ${process.version} for both trees`,
    `argon2id  old ${JSON.stringify(r.argon2Params.old)}, new ${JSON.stringify(r.argon2Params.new)}`,
    `load      ${k.rounds} round(s) per figure and tree, taken in turns old, new, new, old, …; each ${k.warmupSeconds} s warm-up + ${k.seconds} s measured`,
    '          /s over all rounds; p99 the median of the rounds; every idflow window on a fresh server process of its tree',
    '',
    `${'figure'.padEnd(52)}${'old /s'.padStart(10)}${'new /s'.padStart(10)}${'new/old'.padStart(9)}${'old p99'.padStart(10)}${'new p99'.padStart(10)}${'old /cpu-s'.padStart(12)}${'new /cpu-s'.padStart(12)}${'errors'.padStart(8)}`,
  ];
  const figureRows = (label: string, o: Pooled, n: Pooled) => {
    lines.push(
      `${label.padEnd(52)}${num(o.perSecond, 1).padStart(10)}${num(n.perSecond, 1).padStart(10)}${change(n.perSecond, o.perSecond).padStart(9)}` +
        `${num(o.p99, 2).padStart(10)}${num(n.p99, 2).padStart(10)}${num(o.perServerCpuSecond ?? NaN, 0).padStart(12)}${num(n.perServerCpuSecond ?? NaN, 0).padStart(12)}${String(o.errors + n.errors).padStart(8)}`,
    );
    lines.push(`    rounds /s: old ${o.rounds.map((v) => num(v, 1)).join(', ')}; new ${n.rounds.map((v) => num(v, 1)).join(', ')}`);
    for (const sample of [...o.errorSamples.map((s) => `old: ${s}`), ...n.errorSamples.map((s) => `new: ${s}`)]) lines.push(`    error ${sample}`);
  };
  for (const key of COMPARED) figureRows(LABELS[key], r.pooled.old[key], r.pooled.new[key]);
  lines.push('  flow benches, each tree running its own bench/one-click.ts and bench/web-kyc.ts (server CPU only in /cpu-s):');
  for (const f of FLOW_FIGURES) figureRows(f.label, r.flowPooled.old[f.key], r.flowPooled.new[f.key]);
  lines.push('', `${'ratio'.padEnd(52)}${'old'.padStart(10)}${'new'.padStart(10)}${'new/old'.padStart(9)}${'change'.padStart(10)}   target             result`);
  const ratioRow = (ratio: { name: string; old: number; new: number; change: number }) =>
    `${ratio.name.padEnd(52)}${num(ratio.old, 3).padStart(10)}${num(ratio.new, 3).padStart(10)}${num(ratio.change, 3).padStart(9)}${pct(ratio.change).padStart(10)}   `;
  for (const [i, ratio] of r.ratios.entries()) {
    lines.push(`${ratioRow(ratio)}new/old >= ${num(1 - ALLOWED_COST, 2)}      ${ratio.pass ? 'PASS' : 'FAIL'}`);
    lines.push(`${ratioRow(r.byCpu[i]!)}(informative)`);
  }
  for (const flow of r.flowChanges) lines.push(`${ratioRow(flow)}new/old >= ${num(1 - ALLOWED_COST, 2)}      ${flow.pass ? 'PASS' : 'FAIL'}`);
  if (r.noisiest > 0.2) {
    lines.push(`NOISY MACHINE: other processes and the hypervisor took up to ${r.noisiest.toFixed(2)} of ${r.ctx.figures.cores} cores during a window; both trees met it in turns.`);
  }
  if (!r.steady) {
    lines.push(
      `UNSTEADY: the rounds of ${LABELS[r.widest.figure].slice(0, 3)} on the ${r.widest.tree} tree lie ${num(r.widest.spread * 100, 0)} % apart, more than the ${ALLOWED_COST * 100} % margin:`,
      '          the machine alone could have made this verdict; run longer (BENCH_SECONDS=30) or more rounds (BENCH_ROUNDS=4), on a quieter machine.',
    );
  }
  lines.push(
    '',
    !r.valid
      ? 'RUN INVALID: some requests failed (errors above); the comparison does not count'
      : `at most ${ALLOWED_COST * 100} % costlier than the baseline (b/a, c/f and every flow figure of this tree at least ${num(1 - ALLOWED_COST, 2)} × the baseline's): ${r.pass ? 'PASS' : 'FAIL'}${r.steady ? '' : ' (unsteady, see above)'}`,
    '',
  );
  return lines;
}
