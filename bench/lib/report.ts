import type { CpuShare } from './cpu.ts';
import type { Measurement } from './load.ts';
import { formatProfile, type ProfileSummary } from './profile.ts';
import type { GitState } from './settings.ts';

export interface Figure extends Measurement {
  key: string;
  label: string;
  /** Connections (HTTP) or hashes in flight (argon2). */
  concurrency: number;
  perCore: number;
  /**
   * Requests per second of CPU the server itself used: its efficiency, which other load on
   * the machine (the database, the load generator, other people's processes) does not blur.
   */
  perServerCpuSecond: number | null;
  /** Milliseconds of CPU per request, by whom (null without /proc). */
  cpuMsPerRequest: { server: number; postgres: number; loadGenerator: number; total: number } | null;
  /** cores / total CPU per request: the rate if only CPU limited and nothing else ran. */
  cpuBoundEstimate: number | null;
  cpu: CpuShare | null;
}

export interface RunFacts {
  command: string;
  startedAt: string;
  finishedAt: string;
  git: GitState;
  node: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  postgres: string;
  deployment: string;
  settings: Record<string, unknown> & { connections: number; argon2: { memoryKiB: number; iterations: number; parallelism: number } };
  figures: Record<string, Figure>;
  /** Extra runs of some figures under another deployment (a cluster), shown after the main table. */
  extra?: { deployment: string; figures: Record<string, Figure> } | undefined;
  /** BENCH_PROFILE=1: where each idflow server spent its CPU. */
  profiles: Record<string, ProfileSummary>;
}

export interface Check {
  name: string;
  value: number;
  unit: string;
  target: string;
  /** null when the figure it needs was not measured (BENCH_ONLY). */
  pass: boolean | null;
}

export interface Report extends RunFacts {
  ratios: Record<'signInOverArgon2' | 'signInOverArgon2ByCpu' | 'refreshOverCeiling' | 'clientCredentialsOverCeiling' | 'refreshOverLibrary' | 'clientCredentialsOverLibrary', number>;
  checks: Check[];
  reference: { source: string; perVcpu: Record<string, number>; onThisMachine: Record<string, number>; idflowTimes: Record<string, number> };
  /** No request failed: the figures are valid. */
  ok: boolean;
  /** Every target met. */
  targetsMet: boolean;
}

/** The published sizing this bench compares with (Keycloak high-availability guide, "Concepts for sizing CPU and memory resources"). */
const KEYCLOAK_PER_VCPU = { refreshToken: 120, clientCredentials: 120, passwordLogin: 15 };

export function evaluate(facts: RunFacts): Report {
  const f = facts.figures;
  const rate = (x: Figure | undefined) => x?.perSecond ?? NaN;
  const a = rate(f.argon2), b = rate(f.signIn), c = rate(f.refresh), d = rate(f.clientCredentials), e = rate(f.ping);
  const fa = rate(f.refreshAlone), ga = rate(f.clientCredentialsAlone);
  // A check whose figure was not measured (BENCH_ONLY) has no verdict.
  const verdict = (value: number, ok: (v: number) => boolean) => (Number.isFinite(value) ? ok(value) : null);
  const refreshP99 = f.refresh?.latency.p99 ?? NaN;
  const checks: Check[] = [
    { name: 'b/a: password sign-ins per raw argon2id hash', value: b / a, unit: '', target: '>= 0.90', pass: verdict(b / a, (v) => v >= 0.9) },
    { name: `refresh p99 at ${f.refresh?.concurrency ?? facts.settings.connections} connections`, value: refreshP99, unit: 'ms', target: '< 25 ms', pass: verdict(refreshP99, (v) => v < 25) },
    { name: 'refresh per core', value: c / facts.cores, unit: '/s', target: '>= 1,000/s', pass: verdict(c, (v) => v / facts.cores >= 1000) },
    { name: 'client_credentials per core', value: d / facts.cores, unit: '/s', target: '>= 1,000/s', pass: verdict(d, (v) => v / facts.cores >= 1000) },
  ];
  const all = [...Object.values(f), ...Object.values(facts.extra?.figures ?? {})];
  const ok = all.length > 0 && all.every((x) => x.errors === 0 && x.requests > 0);
  const onThisMachine = Object.fromEntries(Object.entries(KEYCLOAK_PER_VCPU).map(([k, v]) => [k, v * facts.cores])) as Record<keyof typeof KEYCLOAK_PER_VCPU, number>;
  return {
    ...facts,
    ratios: {
      signInOverArgon2: b / a,
      // The same ratio from CPU cost instead of rates: CPU per raw hash over all the CPU
      // (server, database, load generator) per sign-in. Other load on the machine hardly moves it.
      signInOverArgon2ByCpu: (f.argon2?.cpu?.server ?? NaN) / (f.argon2?.perSecond ?? NaN) / ((f.signIn?.cpuMsPerRequest?.total ?? NaN) / 1000),
      refreshOverCeiling: c / e,
      clientCredentialsOverCeiling: d / e,
      refreshOverLibrary: c / fa,
      clientCredentialsOverLibrary: d / ga,
    },
    checks,
    reference: {
      source: 'Keycloak high-availability guide, "Concepts for sizing CPU and memory resources" (per vCPU allocated to the cluster)',
      perVcpu: KEYCLOAK_PER_VCPU,
      onThisMachine,
      idflowTimes: {
        refreshToken: c / onThisMachine.refreshToken,
        clientCredentials: d / onThisMachine.clientCredentials,
        passwordLogin: b / onThisMachine.passwordLogin,
      },
    },
    ok,
    targetsMet: checks.every((x) => x.pass === true),
  };
}

/** Cores' worth of CPU taken by others during a figure above which the output warns. */
const NOISE_CORES = 0.2;

export const num = (v: number, digits = 0) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
const cores = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(2));
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

function figureRows(figures: Record<string, Figure>, order: string[]): string[] {
  const rows = [
    `${pad('figure', 48)}${lpad('conc', 5)}${lpad('/s', 10)}${lpad('/s/core', 9)}${lpad('p50 ms', 9)}${lpad('p99 ms', 9)}${lpad('errors', 8)}${lpad('/cpu-s', 9)}   cpu (cores): server  postgres  loadgen  other  steal`,
  ];
  for (const key of order) {
    const x = figures[key];
    if (!x) continue;
    rows.push(
      `${pad(x.label, 48)}${lpad(String(x.concurrency), 5)}${lpad(num(x.perSecond, 1), 10)}${lpad(num(x.perCore, 1), 9)}${lpad(num(x.latency.p50, 2), 9)}${lpad(num(x.latency.p99, 2), 9)}${lpad(String(x.errors), 8)}${lpad(x.perServerCpuSecond === null ? '-' : num(x.perServerCpuSecond, 0), 9)}` +
        `   ${lpad(cores(x.cpu?.server), 19)}${lpad(cores(x.cpu?.postgres), 10)}${lpad(cores(x.cpu?.loadGenerator), 9)}${lpad(cores(x.cpu?.other), 7)}${lpad(cores(x.cpu?.steal), 7)}`,
    );
    for (const sample of x.errorSamples) rows.push(`    error: ${sample}`);
  }
  return rows;
}

function cpuRows(figures: Record<string, Figure>, order: string[], cores: number): string[] {
  const rows = [
    `${pad('CPU per request (ms)', 48)}${lpad('server', 12)}${lpad('postgres', 10)}${lpad('loadgen', 9)}${lpad('total', 8)}   CPU-bound estimate, ${cores} cores to themselves`,
  ];
  for (const key of order) {
    const x = figures[key];
    if (!x?.cpuMsPerRequest) continue;
    const c = x.cpuMsPerRequest;
    rows.push(
      `${pad(x.label, 48)}${lpad(num(c.server, 3), 12)}${lpad(num(c.postgres, 3), 10)}${lpad(num(c.loadGenerator, 3), 9)}${lpad(num(c.total, 3), 8)}   ${lpad(x.cpuBoundEstimate === null ? '-' : `${num(x.cpuBoundEstimate, 0)}/s`, 10)}  (${num((x.cpuBoundEstimate ?? NaN) / cores, 0)}/s per core)`,
    );
  }
  return rows;
}

/** The table printed at the end of a run (also stored, line by line, in the result file). */
export function printReport(r: Report): string {
  const s = r.settings;
  const lines: string[] = [];
  lines.push('');
  lines.push(`idflow bench — ${r.startedAt}`);
  lines.push(`command   ${r.command}`);
  lines.push(`commit    ${r.git.commit}${r.git.uncommitted.length ? ` + uncommitted changes in ${r.git.uncommitted.join(', ')}` : ''}`);
  lines.push(`machine   ${r.cores} cores (os.availableParallelism()), ${r.cpuModel}, ${r.memoryGiB} GiB; Node ${r.node}; PostgreSQL ${r.postgres}`);
  lines.push(`server    ${r.deployment}; LOG_LEVEL=${s.serverLogLevel}, UV_THREADPOOL_SIZE=${s.uvThreadpoolSize}`);
  lines.push(`argon2id  m=${s.argon2.memoryKiB} KiB, t=${s.argon2.iterations}, p=${s.argon2.parallelism} (loadConfig().password)`);
  lines.push(`load      ${s.warmupSeconds} s warm-up + ${s.seconds} s measured per figure (at most ${num(s.maxRequests as number)} requests), closed loop, keep-alive, 127.0.0.1`);
  lines.push('');
  const order = ['argon2', 'signIn', 'refresh', 'clientCredentials', 'ping', 'refreshAlone', 'clientCredentialsAlone'];
  lines.push(...figureRows(r.figures, order));
  if (r.extra) {
    lines.push('');
    lines.push(`also measured: ${r.extra.deployment}`);
    lines.push(...figureRows(r.extra.figures, Object.keys(r.extra.figures)));
  }
  const withCpu = cpuRows({ ...r.figures, ...(r.extra?.figures ?? {}) }, [...order.filter((k) => k !== 'argon2'), ...Object.keys(r.extra?.figures ?? {})], r.cores);
  if (withCpu.length > 1) lines.push('', ...withCpu);
  lines.push('');
  lines.push(`${pad('ratio', 48)}${lpad('value', 10)}`);
  lines.push(`${pad('b/a  sign-ins / raw argon2id hashes', 48)}${lpad(num(r.ratios.signInOverArgon2, 3), 10)}`);
  lines.push(`${pad('     the same from CPU cost (CPU per hash / per sign-in)', 48)}${lpad(num(r.ratios.signInOverArgon2ByCpu, 3), 10)}`);
  lines.push(`${pad('c/e  refresh / bare Fastify ceiling', 48)}${lpad(num(r.ratios.refreshOverCeiling, 3), 10)}`);
  lines.push(`${pad('d/e  client_credentials / bare Fastify ceiling', 48)}${lpad(num(r.ratios.clientCredentialsOverCeiling, 3), 10)}`);
  lines.push(`${pad('c/f  refresh / oidc-provider alone', 48)}${lpad(num(r.ratios.refreshOverLibrary, 3), 10)}`);
  lines.push(`${pad('d/g  client_credentials / oidc-provider alone', 48)}${lpad(num(r.ratios.clientCredentialsOverLibrary, 3), 10)}`);
  lines.push('');
  lines.push(`${pad(`target (${r.cores} cores)`, 48)}${lpad('value', 12)}   ${pad('target', 12)}result`);
  for (const c of r.checks) {
    const value = c.unit === '' ? num(c.value, 3) : c.unit === 'ms' ? `${num(c.value, 2)} ms` : `${num(c.value, 0)}/s`;
    lines.push(`${pad(c.name, 48)}${lpad(value, 12)}   ${pad(c.target, 12)}${c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL'}`);
  }
  const fa = r.figures.refreshAlone, ga = r.figures.clientCredentialsAlone;
  if (fa && ga) {
    const missed = [
      ...(fa.latency.p99 < 25 ? [] : ['refresh p99 < 25 ms']),
      ...(fa.perCore >= 1000 ? [] : ['refresh ≥ 1,000/s per core']),
      ...(ga.perCore >= 1000 ? [] : ['client_credentials ≥ 1,000/s per core']),
    ];
    lines.push(
      `library   oidc-provider alone, in memory: refresh ${num(fa.perCore, 0)}/s per core, p99 ${num(fa.latency.p99, 2)} ms; client_credentials ${num(ga.perCore, 0)}/s per core:`,
      `          ${missed.length ? `the library alone, with no storage at all, misses ${missed.join(' and ')} on this machine` : 'every target is within the library’s own reach here'}`,
    );
  }
  lines.push('');
  const k = r.reference;
  lines.push(`reference Keycloak's published sizing: ${k.perVcpu.refreshToken} refresh-token requests/s and ${k.perVcpu.clientCredentials} client-credentials grants/s per vCPU`);
  lines.push(`          (${k.perVcpu.passwordLogin} password logins/s per vCPU, with its own password hashing) → on ${r.cores} vCPUs: ${k.onThisMachine.refreshToken}/s, ${k.onThisMachine.clientCredentials}/s (${k.onThisMachine.passwordLogin}/s)`);
  lines.push(
    `          idflow here: refresh ${num(k.idflowTimes.refreshToken!, 1)}×, client_credentials ${num(k.idflowTimes.clientCredentials!, 1)}×, password sign-in ${num(k.idflowTimes.passwordLogin!, 1)}× that`,
  );
  const noisiest = Math.max(0, ...Object.values(r.figures).map((x) => (x.cpu?.other ?? 0) + (x.cpu?.steal ?? 0)));
  if (noisiest > NOISE_CORES) {
    lines.push(
      `NOISY MACHINE: other processes and the hypervisor took up to ${noisiest.toFixed(2)} of ${r.cores} cores during a figure (columns other, steal);`,
      '          throughput and latency are understated; /cpu-s (requests per CPU-second of the server) is the steadier figure.',
    );
  }
  for (const [key, p] of Object.entries(r.profiles)) lines.push('', formatProfile(r.figures[key]?.label ?? key, p));
  lines.push('');
  lines.push(
    r.ok
      ? `run valid: every request answered as expected; targets ${r.checks.filter((c) => c.pass === true).length}/${r.checks.filter((c) => c.pass !== null).length} met`
      : 'RUN INVALID: some requests failed (errors above); the figures do not count',
  );
  lines.push('');
  return lines.join('\n');
}
