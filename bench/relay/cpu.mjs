// CPU seconds (user + system) spent by processes during a measured window, read from
// /proc (Linux only; elsewhere every reading is 0). Used to say where the time goes.
import { readFileSync, readdirSync } from "node:fs";

const TICK = 100; // USER_HZ on Linux

function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime
  } catch {
    return 0;
  }
}

/** Pids whose command line matches `re` (e.g. the shared redis-server, every postgres backend). */
export function pidsMatching(re) {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (re.test(readFileSync(`/proc/${d}/cmdline`, "utf8").replaceAll("\0", " "))) out.push(Number(d));
    } catch {}
  }
  return out;
}

/** Snapshot CPU of named groups of pids (a function, re-evaluated: postgres forks backends). */
export function cpuMeter(groups) {
  const read = () =>
    Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, (typeof pids === "function" ? pids() : pids).reduce((a, p) => a + cpuOf(p), 0)]));
  const self = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const start = read();
  const selfStart = self();
  return () => {
    const end = read();
    const out = Object.fromEntries(Object.keys(end).map((k) => [k, +(end[k] - start[k]).toFixed(2)]));
    out.benchAndEmulator = +(self() - selfStart).toFixed(2);
    return out;
  };
}
