// Formatting and parsing of durations and times.

const UNITS: [string, number][] = [
  ['ns', 1],
  ['us', 1e3],
  ['µs', 1e3],
  ['ms', 1e6],
  ['s', 1e9],
  ['m', 60e9],
  ['h', 3600e9],
  ['d', 86400e9],
];

/** Parses a Go-style duration ("250ms", "1.5s", "1h30m", "7d") into nanoseconds; null if invalid. */
export function parseDuration(s: string): number | null {
  const str = s.trim();
  if (!str) return null;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(str))) {
    const unit = UNITS.find((u) => u[0] === m![2])!;
    total += parseFloat(m[1]) * unit[1];
    last = re.lastIndex;
  }
  if (last !== str.length || last === 0) return null;
  return total;
}

/** Nanoseconds to a short human duration: 850ns, 12.3µs, 4.56ms, 1.23s, 2m 5s, 3h 12m. */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return '–';
  const neg = ns < 0;
  const v = Math.abs(ns);
  let out: string;
  if (v < 1e3) out = `${Math.round(v)}ns`;
  else if (v < 1e6) out = `${trim(v / 1e3)}µs`;
  else if (v < 1e9) out = `${trim(v / 1e6)}ms`;
  else if (v < 60e9) out = `${trim(v / 1e9)}s`;
  else if (v < 3600e9) {
    const m = Math.floor(v / 60e9);
    out = `${m}m ${Math.round((v - m * 60e9) / 1e9)}s`;
  } else {
    const h = Math.floor(v / 3600e9);
    out = `${h}h ${Math.round((v - h * 3600e9) / 60e9)}m`;
  }
  return neg ? `-${out}` : out;
}

function trim(x: number): string {
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1).replace(/\.0$/, '');
  return x.toFixed(2).replace(/\.?0+$/, '');
}

/** Unix-nanosecond string to milliseconds since the epoch. */
export function nanosToMillis(s: string): number {
  if (!s) return 0;
  if (s.length <= 6) return 0;
  return Number(s.slice(0, -6)) + Number(s.slice(-6)) / 1e6;
}

/** Milliseconds since the epoch to a unix-nanosecond string. */
export function millisToNanos(ms: number): string {
  return (BigInt(Math.floor(ms)) * 1000000n + BigInt(Math.round((ms % 1) * 1e6))).toString();
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatRelativeTime(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return 'in the future';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function formatPercent(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const p = x * 100;
  if (p === 0) return '0%';
  if (p < 0.1) return '<0.1%';
  if (p < 10) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–';
  if (perSecond === 0) return '0/s';
  if (perSecond < 0.01) return `${(perSecond * 60).toFixed(2)}/min`;
  if (perSecond < 10) return `${perSecond.toFixed(2)}/s`;
  if (perSecond < 1000) return `${perSecond.toFixed(1)}/s`;
  return `${Math.round(perSecond)}/s`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
