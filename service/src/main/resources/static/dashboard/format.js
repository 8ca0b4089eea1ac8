// How numbers, sizes and times read in the dashboard.

export function age(instant, now = Date.now()) {
  if (!instant) {
    return '';
  }
  const seconds = Math.max(0, Math.round((now - Date.parse(instant)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function time(instant) {
  return instant ? new Date(instant).toLocaleString() : '';
}

export function bytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Three significant digits, with k/M/G for large values: axis labels and table cells. */
export function number(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '';
  const abs = Math.abs(x);
  if (abs >= 1e9) return `${(x / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${(x / 1e6).toPrecision(3)}M`;
  if (abs >= 1e4) return `${(x / 1e3).toPrecision(3)}k`;
  if (abs !== 0 && abs < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

export function percent(fraction) {
  return fraction === null || fraction === undefined ? '' : `${(fraction * 100).toFixed(1)}%`;
}

/** "7/10 steps (70%)", or '' before the job reports. */
export function progress(p) {
  if (!p || p.total === null || p.total === undefined) return '';
  const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 0;
  return `${p.done}/${p.total} ${p.unit} (${pct}%)`;
}

export const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
