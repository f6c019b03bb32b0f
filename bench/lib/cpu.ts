import { readFileSync, readdirSync } from 'node:fs';

/**
 * Where the CPU went during a measured window: the server process(es), PostgreSQL (every
 * process named `postgres`), this load generator, and the machine as a whole. On a small
 * machine the server shares its cores with the database and the load generator, and these
 * shares say which of them was the limit. Linux /proc only; elsewhere the figures are null.
 */
export interface CpuShare {
  /** Cores' worth of CPU used on average over the window (1.0 = one core busy all the time). */
  server: number | null;
  postgres: number | null;
  loadGenerator: number;
  /** The whole machine (all processes), excluding time stolen by the hypervisor. */
  machine: number | null;
  /** Everything else that ran meanwhile: other people's processes make the figures noisy. */
  other: number | null;
  /** Time the hypervisor gave this machine's vCPUs to someone else. */
  steal: number | null;
}

const TICKS_PER_SECOND = 100; // USER_HZ; 100 on every Linux this runs on

function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

/** CPU ticks of every `postgres` process, by pid (backends come and go during a window). */
function postgresTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    ticks.set(Number(entry), processTicks(Number(entry)));
  }
  return ticks;
}

/** Ticks used between two snapshots; a process born meanwhile counts whole, one that ended is lost. */
function ticksBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ticks] of after) total += Math.max(0, ticks - (before.get(pid) ?? 0));
  return total;
}

function machineTicks(): { busy: number; steal: number } {
  const [line] = readFileSync('/proc/stat', 'utf8').split('\n');
  // user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line!.trim().split(/\s+/).slice(1).map(Number);
  return { busy: user + nice + system + irq + softirq, steal };
}

const hasProc = (() => {
  try {
    readFileSync('/proc/stat');
    return true;
  } catch {
    return false;
  }
})();

export class CpuProbe {
  readonly #serverPids: () => number[];
  #start: { at: number; server: number; postgres: Map<number, number>; self: NodeJS.CpuUsage; machine: { busy: number; steal: number } } | undefined;
  result: CpuShare | undefined;

  constructor(serverPids: () => number[]) {
    this.#serverPids = serverPids;
  }

  start(): void {
    this.#start = {
      at: performance.now(),
      server: hasProc ? this.#serverTicks() : 0,
      postgres: hasProc ? postgresTicks() : new Map(),
      self: process.cpuUsage(),
      machine: hasProc ? machineTicks() : { busy: 0, steal: 0 },
    };
  }

  stop(): CpuShare {
    const s = this.#start!;
    const seconds = (performance.now() - s.at) / 1000;
    const self = process.cpuUsage(s.self);
    const cores = (ticks: number) => Math.round((ticks / TICKS_PER_SECOND / seconds) * 100) / 100;
    // /proc/stat's first line adds all cores up, so busy ticks per second are cores' worth.
    const m = hasProc ? machineTicks() : undefined;
    const machine = m ? cores(m.busy - s.machine.busy) : null;
    const steal = m ? cores(m.steal - s.machine.steal) : null;
    const server = hasProc ? cores(this.#serverTicks() - s.server) : null;
    const postgres = hasProc ? cores(ticksBetween(s.postgres, postgresTicks())) : null;
    const loadGenerator = Math.round(((self.user + self.system) / 1e6 / seconds) * 100) / 100;
    this.result = {
      server,
      postgres,
      loadGenerator,
      machine,
      other: machine === null ? null : Math.max(0, Math.round((machine - (server ?? 0) - (postgres ?? 0) - loadGenerator) * 100) / 100),
      steal,
    };
    return this.result;
  }

  #serverTicks(): number {
    return this.#serverPids().reduce((sum, pid) => sum + processTicks(pid), 0);
  }
}
