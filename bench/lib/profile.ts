import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of process.hrtime in microseconds: the same monotonic clock V8 stamps samples with. */
export interface Span {
  fromUs: number;
  toUs: number;
}

export const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

export interface ProfileSummary {
  file: string;
  /** Milliseconds of samples in the window, idle excluded, and the window's length. */
  busyMs: number;
  windowMs: number;
  /** Share of busy time by where the code lives (a package, a folder of src/, Node itself, GC). */
  byPlace: { place: string; share: number }[];
  /** The functions with the most self time. */
  topFunctions: { fn: string; share: number }[];
}

/** Where the code of a frame lives: node_modules/<package>, src/<folder>, node:…, or a V8 pseudo-frame. */
function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src) return `src/${src[1]}`;
  if (url.startsWith('node:')) {
    const [first, second] = url.slice(5).split('/');
    return `node:${first === 'internal' && second ? second : first}`;
  }
  return url.replace(/^file:\/\/.*\//, '');
}

/**
 * Self time per place and per function of a V8 .cpuprofile (node --cpu-prof), counting only
 * the samples taken inside `span` (the measured window), so start-up and warm-up stay out.
 */
export async function summarizeProfile(file: string, span: Span | undefined, top = 12): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const hitsOf = new Map<number, number>();
  let at = profile.startTime;
  let kept = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (span && (at < span.fromUs || at > span.toUs)) continue;
    hitsOf.set(profile.samples[i]!, (hitsOf.get(profile.samples[i]!) ?? 0) + 1);
    kept++;
  }
  const spanMs = span ? (span.toUs - span.fromUs) / 1000 : (profile.endTime - profile.startTime) / 1000;
  const msPerHit = spanMs / (kept || 1);
  const byPlace = new Map<string, number>();
  const byFn = new Map<string, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  // Native frames (writev, a crypto binding…) are counted where the JavaScript that called them lives.
  const placeOfNode = (node: ProfileNode): string => {
    let current: ProfileNode | undefined = node;
    while (current && !current.callFrame.url && !current.callFrame.functionName.startsWith('(')) {
      const parent = parentOf.get(current.id);
      current = parent === undefined ? undefined : byId.get(parent);
    }
    return current ? placeOf(current.callFrame.url, current.callFrame.functionName) : '(native)';
  };
  let busy = 0;
  for (const node of profile.nodes) {
    const hits = hitsOf.get(node.id) ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busy += hits;
    const place = placeOfNode(node);
    byPlace.set(place, (byPlace.get(place) ?? 0) + hits);
    const fn = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^file:\/\/.*?\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(fn, (byFn.get(fn) ?? 0) + hits);
  }
  const share = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => ({ k, share: v / (busy || 1) }));
  return {
    file,
    busyMs: Math.round(busy * msPerHit),
    windowMs: Math.round(spanMs),
    byPlace: share(byPlace, top).map(({ k, share }) => ({ place: k, share })),
    topFunctions: share(byFn, top).map(({ k, share }) => ({ fn: k, share })),
  };
}

/** The newest .cpuprofile in a folder (node writes one per process at exit). */
export async function newestProfile(dir: string): Promise<string | undefined> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.length ? join(dir, files[files.length - 1]!) : undefined;
}

export function formatProfile(label: string, p: ProfileSummary): string {
  const lines = [`profile of the server's main thread during ${label}: busy ${p.busyMs} of ${p.windowMs} ms measured (${p.file})`];
  lines.push(`  by place:   ${p.byPlace.map((x) => `${x.place} ${(x.share * 100).toFixed(1)}%`).join(', ')}`);
  lines.push('  top functions (self time):');
  for (const f of p.topFunctions) lines.push(`    ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.fn}`);
  return lines.join('\n');
}
