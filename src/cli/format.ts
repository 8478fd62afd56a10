/** Plain-text formatting for the terminal: tables, durations, numbers. */

export type Align = 'left' | 'right';

/** A table with a header row, columns padded to the widest cell; numbers align right by default. */
export function formatTable(headers: string[], rows: Array<Array<string | number>>, align?: Align[]): string {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const widths = headers.map((h, c) => Math.max(h.length, ...cells.map((row) => (row[c] ?? '').length)));
  const alignOf = (c: number): Align => align?.[c] ?? (c === 0 ? 'left' : 'right');
  const line = (row: string[]): string =>
    row
      .map((cell, c) => (alignOf(c) === 'left' ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** 75 -> "1m 15s", 3725 -> "1h 2m", 4.2 -> "4.2s". */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** A rate in 0..1 as a percentage with one decimal ("97.3"). */
export function formatPercent(rate: number): string {
  return Number.isFinite(rate) ? (rate * 100).toFixed(1) : '-';
}

/** A score or loss with four significant digits. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return '-';
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && (Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3)) return value.toExponential(3);
  return Number(value.toPrecision(4)).toString();
}

/** "+0.0123" / "-0.5". */
export function formatSigned(value: number): string {
  return `${value >= 0 ? '+' : ''}${formatNumber(value)}`;
}

/** "3 of 40 (7.5%)". */
export function formatCount(count: number, of: number): string {
  return of > 0 ? `${count} of ${of} (${((100 * count) / of).toFixed(1)}%)` : `${count} of 0`;
}

/** One JSON object per line; typed arrays (maps) never belong in it. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value, (_key, v: unknown) => (ArrayBuffer.isView(v) ? undefined : v))}\n`;
}

/** A target rate as a percentage without float noise: 0.007 -> "0.7%". */
export function formatRate(rate: number): string {
  return `${Number((rate * 100).toPrecision(6))}%`;
}
