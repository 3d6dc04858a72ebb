// Bars for the reads-per-day chart: missing days filled with zero, heights
// scaled to the busiest day.

export interface DayReads {
  day: string;
  reads: number;
}

export interface Bar {
  day: string;
  reads: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

function addDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The days a chart spans: `from`/`to` as YYYY-MM-DD, either may be left to the data. */
export interface DayRange {
  from?: string | null;
  to?: string | null;
}

/** The fewest days a chart shows, so one busy day is not one wall-to-wall bar. */
export const MIN_DAYS = 7;

/**
 * Every day of the range (by default from the first listed, or a week before
 * the last if that is earlier, to the last listed), with 0 for days without
 * reads; at most `maxDays`, the latest.
 */
export function fillDays(days: readonly DayReads[], maxDays = 90, range: DayRange = {}): DayReads[] {
  const sorted = [...days].filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.day)).sort((a, b) => a.day.localeCompare(b.day));
  if (sorted.length === 0) return [];
  const byDay = new Map(sorted.map((d) => [d.day, d.reads]));
  const last = range.to ?? sorted[sorted.length - 1].day;
  const weekBefore = addDays(last, -(MIN_DAYS - 1));
  const first = range.from ?? (sorted[0].day < weekBefore ? sorted[0].day : weekBefore);
  const start = first < addDays(last, -(maxDays - 1)) ? addDays(last, -(maxDays - 1)) : first;
  const out: DayReads[] = [];
  for (let day = start; day <= last; day = addDay(day)) out.push({ day, reads: byDay.get(day) ?? 0 });
  return out;
}

/** Bars in a `width` × `height` box, with a small gap between them. */
export function layoutBars(days: readonly DayReads[], width: number, height: number, range: DayRange = {}): Bar[] {
  const filled = fillDays(days, 90, range);
  if (filled.length === 0) return [];
  const max = Math.max(1, ...filled.map((d) => d.reads));
  const slot = width / filled.length;
  const gap = Math.min(2, slot * 0.2);
  return filled.map((d, i) => {
    const h = d.reads === 0 ? 0 : Math.max(1, (d.reads / max) * height);
    return { day: d.day, reads: d.reads, x: i * slot + gap / 2, y: height - h, width: slot - gap, height: h };
  });
}
