// The flow benches of one tree (one-click.ts and web-kyc.ts), run for a comparison as that
// tree runs them on its own. They prepare their data through the core's own modules, which
// change from commit to commit, so each tree runs its own scripts; what they measure, the same
// HTTP requests against a server of that tree, is what the comparison reads.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CpuShare } from './cpu.ts';
import type { Measurement } from './load.ts';

export const FLOW_FIGURES = [
  { key: 'nonHosted', bench: 'one-click', label: '1-Click Non-Hosted POST /1-click (flows)' },
  { key: 'semiHosted', bench: 'one-click', label: '1-Click Semi-Hosted POST + GET (flows)' },
  { key: 'pairs', bench: 'web-kyc', label: 'Web KYC token + details (pairs)' },
] as const;
export type FlowFigure = (typeof FLOW_FIGURES)[number]['key'];
export type FlowBench = (typeof FLOW_FIGURES)[number]['bench'];
export const FLOW_BENCHES: FlowBench[] = [...new Set(FLOW_FIGURES.map((f) => f.bench))];

export interface FlowTree {
  root: string;
  /** Where the tree's bench scripts are (its own, for an older tree). */
  benchDir: string;
  /** Where its standalone benches write their result (BENCH_RESULTS_DIR). */
  resultsDir: string;
}

export type FlowMeasurement = Measurement & { cpu: CpuShare | null };

/** Runs one flow bench of one tree in a process of its own and returns its figures. */
export async function runFlowBench(tree: FlowTree, bench: FlowBench, log: (line: string) => void): Promise<Partial<Record<FlowFigure, FlowMeasurement>>> {
  const child = spawn(process.execPath, [join(tree.benchDir, `${bench}.ts`)], {
    cwd: tree.root,
    // Without BENCH_BASELINE the script measures instead of deferring to a comparison.
    env: { ...process.env, BENCH_BASELINE: '', BENCH_RESULTS_DIR: tree.resultsDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) log(`  ${bench}: ${line.replace(/^\[bench\] /, '')}`);
  };
  child.stdout.on('data', forward);
  child.stderr.on('data', forward);
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`bench/${bench}.ts in ${tree.root} failed (${signal ?? `exit ${code}`})`))));
  });
  const result = JSON.parse(await readFile(join(tree.resultsDir, `latest-${bench}.json`), 'utf8')) as Record<string, unknown> & { cpu?: Record<string, CpuShare> };
  const figures: Partial<Record<FlowFigure, FlowMeasurement>> = {};
  for (const f of FLOW_FIGURES.filter((x) => x.bench === bench)) {
    const m = result[f.key] as Measurement | undefined;
    if (!m) throw new Error(`bench/${bench}.ts in ${tree.root} gave no figure ${f.key}`);
    figures[f.key] = { ...m, cpu: result.cpu?.[f.key] ?? null };
  }
  return figures;
}
