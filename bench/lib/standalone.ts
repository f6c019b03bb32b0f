// What a bench that stands on its own needs, once: a fresh PostgreSQL database, the platform
// opened in this process on it (to prepare clients and data), a server process started as
// `npm start` starts it, CPU probes around the measured window, the result saved next to
// the others in bench/results/, and everything dropped at the end.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.ts';
import { openPlatform } from '../../src/bootstrap.ts';
import { createLogger } from '../../src/kernel/logger.ts';
import type { Services } from '../../src/services.ts';
import { CpuProbe, type CpuShare } from './cpu.ts';
import { createBenchDatabase } from './database.ts';
import { formatProfile, newestProfile, nowUs, summarizeProfile, type Span } from './profile.ts';
import { idflowEnv } from './idflow-server.ts';
import { freePort, startProcess, type ServerProcess } from './processes.ts';
import { gitState, knobs, type Knobs } from './settings.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface StandaloneContext<Prepared> {
  services: Services;
  server: ServerProcess;
  prepared: Prepared;
  k: Knobs;
  log: (line: string) => void;
  /** Hooks for the measured window: CPU shares are recorded under the figure's name (and returned by `end`). */
  window: { start: (figure: string) => void; end: (figure: string) => CpuShare | undefined };
}

export interface StandaloneOptions {
  /** Settings the server (and the platform opened in this process) runs with, beyond the bench's own. */
  env?: Record<string, string>;
  /** Whether a comparison run (bench/compare.ts) measures this bench on both trees; when not, it skips it. */
  compared?: boolean;
}

export const benchLog = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/**
 * True when this run is a comparison with an older commit (BENCH_BASELINE): a standalone bench
 * then does nothing, because the comparison measured it already, in turns with the older tree,
 * or because it has no older counterpart to compare with.
 */
export function leftToComparison(name: string, k: Knobs, compared: boolean): boolean {
  if (!k.baseline) return false;
  benchLog(
    compared
      ? `${name}: measured already, in turns with the older tree, by the comparison (bench/compare.ts)`
      : `${name}: not part of a comparison (no older counterpart to compare with); run it without BENCH_BASELINE`,
  );
  return true;
}

/** Saves a standalone bench's result as bench/results/<time>-<name>.json and latest-<name>.json, with the command and git state. */
export async function saveResult(name: string, k: Knobs, figures: Record<string, unknown>): Promise<void> {
  const result = { bench: name, command: k.command, git: await gitState(ROOT), at: new Date().toISOString(), cores: availableParallelism(), ...figures };
  const stamp = result.at.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  // A comparison run (bench/compare.ts) collects the result from a folder of its own.
  const results = process.env.BENCH_RESULTS_DIR || join(ROOT, 'bench', 'results');
  await mkdir(results, { recursive: true });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  const [file, latest] = [join(results, `${stamp}-${name}.json`), join(results, `latest-${name}.json`)];
  await writeFile(file, json);
  await writeFile(latest, json);
  process.stdout.write(`saved ${relative(ROOT, file)} and ${relative(ROOT, latest)}\n`);
}

export async function runStandalone<Prepared>(
  name: string,
  prepare: (services: Services) => Promise<Prepared>,
  run: (context: StandaloneContext<Prepared>) => Promise<Record<string, unknown>>,
  options: StandaloneOptions = {},
): Promise<void> {
  const k = knobs();
  const log = benchLog;
  if (leftToComparison(name, k, options.compared ?? true)) return;
  const database = await createBenchDatabase();
  const port = await freePort();
  const env = { ...idflowEnv(database, port, k), ...options.env };
  let server: ServerProcess | undefined;
  let services: Services | undefined;
  let profileDir: string | undefined;
  const spans = new Map<string, Span>();
  let current: Span | undefined;
  try {
    services = await openPlatform(loadConfig({ ...process.env, ...env }), createLogger('warn', process.stderr));
    const prepared = await prepare(services);
    const logFile = join(tmpdir(), `${database.name}.log`);
    // BENCH_PROFILE=1: the server runs under --cpu-prof; the profile is cut to the measured windows.
    profileDir = k.profile ? join(ROOT, 'bench', 'profiles', `${new Date().toISOString().replace(/:/g, '-')}`, name) : undefined;
    server = await startProcess({ args: [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), 'src/main.ts'], env, cwd: ROOT, port, readyPath: '/readyz', logFile });
    log(`${name}: database ${database.name}; server ${server.url} (pid ${server.pids()[0]}), log ${logFile}`);
    const cpu: Record<string, CpuShare> = {};
    let probe: CpuProbe | undefined;
    const running = server;
    const figures = await run({
      services,
      server,
      prepared,
      k,
      log,
      window: {
        start: () => {
          current = { fromUs: nowUs(), toUs: Number.POSITIVE_INFINITY };
          probe = new CpuProbe(() => running.pids());
          probe.start();
        },
        end: (figure) => {
          current!.toUs = nowUs();
          spans.set(figure, current!);
          probe!.stop();
          if (probe!.result) cpu[figure] = probe!.result;
          return probe!.result;
        },
      },
    });
    await saveResult(name, k, { ...figures, cpu });
  } finally {
    await services?.db.close().catch(() => {});
    await server?.stop().catch(() => {});
    await database.drop().catch(() => {});
  }
  const file = profileDir && (await newestProfile(profileDir));
  if (file) for (const [figure, span] of spans) process.stdout.write(`\n${formatProfile(figure, await summarizeProfile(file, span))}\n`);
}
