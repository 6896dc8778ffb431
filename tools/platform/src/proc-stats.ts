import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Linux USER_HZ: /proc/<pid>/stat reports CPU time in clock ticks of 1/100 s on every architecture Linux supports
 * (`getconf CLK_TCK` = 100; proc(5)). Node has no sysconf binding, so the constant is written here.
 */
const TICKS_PER_S = 100;

/** CPU seconds (user + system) a process has used so far, or 0 when it is gone. Fields 14 and 15 of proc(5) stat. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; the fields after it start past its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of a process tree one level deep (a postmaster and its backends): the parent's own time, the time of
 * children it already reaped (cutime + cstime, fields 16 and 17 of proc(5) stat: backends that exited during the
 * window), and the time of its live children, re-listed at each call so backends started meanwhile count too.
 */
export function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS_PER_S;
    return (
      own +
      withChildren(pid)
        .slice(1)
        .reduce((s, c) => s + cpuSeconds(c), 0)
    );
  } catch {
    return 0;
  }
}

/** A process and its direct children (e.g. the postmaster and its backends), from /proc/<pid>/task/<pid>/children. */
export function withChildren(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...children];
  } catch {
    return [pid];
  }
}

/** Resident memory of a process, MB (VmRSS of /proc/<pid>/status), or 0 when it is gone. */
export function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Pids of the local stack's processes (infra/local/up.sh writes them under .local/). Missing ones are left out. */
export function stackPids(root: string): { kafka?: number; postgres?: number; redis?: number; registry?: number } {
  const read = (file: string): number | undefined => {
    try {
      const n = Number(readFileSync(path.join(root, '.local', file), 'utf8').split('\n')[0]);
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  return { kafka: read('run/kafka.pid'), postgres: read('pg/data/postmaster.pid'), redis: read('run/redis.pid'), registry: read('run/registry.pid') };
}

/** The load averages (1 and 5 minutes, as `uptime` shows them) and the core count. */
export function loadAverage(): { load1: number; load5: number; cores: number } {
  const [load1, load5] = os.loadavg();
  return { load1: Math.round((load1 ?? 0) * 100) / 100, load5: Math.round((load5 ?? 0) * 100) / 100, cores: os.availableParallelism() };
}
