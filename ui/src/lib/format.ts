// Times, lifetimes, sizes and lists of paths and actions in plain words.
// Pure functions: every one takes "now" or a locale when it needs one, so
// the tests do not depend on the clock or the machine.
import type { Action } from "./api";

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** "a", "a and b", "a, b and c". */
export function joinWords(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", or "in 10 min" for the future. */
export function formatRelative(iso: string, now: Date = new Date()): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const secs = Math.round((now.getTime() - then) / 1000);
  const abs = Math.abs(secs);
  if (abs < 45) return "just now";
  let amount: string;
  if (abs < HOUR) amount = `${Math.max(1, Math.round(abs / MINUTE))} min`;
  else if (abs < DAY) amount = `${Math.round(abs / HOUR)} h`;
  else amount = plural(Math.round(abs / DAY), "day");
  return secs > 0 ? `${amount} ago` : `in ${amount}`;
}

/** A date and time in the person's locale, e.g. "3 Nov 2026, 14:05". */
export function formatAbsolute(iso: string, locale?: string, timeZone?: string): string {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone,
  }).format(then);
}

/** What is left until `expiresAt`: "3 days 4 h", "2 h 14 min", "14 min", "40 s" or "expired". */
export function formatTimeLeft(expiresAt: string, now: Date = new Date()): string {
  const end = Date.parse(expiresAt);
  if (Number.isNaN(end)) return expiresAt;
  const secs = Math.floor((end - now.getTime()) / 1000);
  if (secs <= 0) return "expired";
  if (secs < MINUTE) return `${secs} s`;
  if (secs < HOUR) return `${Math.floor(secs / MINUTE)} min`;
  if (secs < DAY) {
    const h = Math.floor(secs / HOUR);
    const m = Math.floor((secs % HOUR) / MINUTE);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(secs / DAY);
  const h = Math.floor((secs % DAY) / HOUR);
  return h ? `${plural(d, "day")} ${h} h` : plural(d, "day");
}

/** A lifetime in seconds as words: "30 days", "1 hour", "1 hour 30 minutes". */
export function formatLifetime(secs: number): string {
  if (!Number.isFinite(secs) || secs <= 0) return "no time";
  const units: [number, string][] = [
    [DAY, "day"],
    [HOUR, "hour"],
    [MINUTE, "minute"],
    [1, "second"],
  ];
  const parts: string[] = [];
  let rest = Math.floor(secs);
  for (const [size, word] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(plural(n, word));
      rest -= n * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** Bytes in decimal units: "512 B", "1.2 kB", "1.2 MB", "3 GB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = "B";
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  const shown = value < 10 ? value.toFixed(1).replace(/\.0$/, "") : String(Math.round(value));
  return `${shown} ${unit}`;
}

const ACTION_WORDS: Record<Action, string> = {
  read: "read",
  append: "add new",
  write: "change",
};

/** ["write", "read"] → "read and change". */
export function describeActions(actions: readonly Action[]): string {
  const order: Action[] = ["read", "append", "write"];
  const words = order.filter((a) => actions.includes(a)).map((a) => ACTION_WORDS[a]);
  return words.length ? joinWords(words) : "nothing";
}

/** "/contact/" → "everything in /contact/"; "/profile/card" → "/profile/card"; "/" → "everything". */
export function describePath(path: string): string {
  if (path === "/") return "everything in the vault";
  return path.endsWith("/") ? `everything in ${path}` : path;
}

/** ["/contact/", "/profile/card"] → "everything in /contact/ and /profile/card". */
export function describePaths(paths: readonly string[]): string {
  return paths.length ? joinWords(paths.map(describePath)) : "nothing";
}
