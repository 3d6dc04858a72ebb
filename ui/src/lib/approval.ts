// From a pending request and what the person ticked to the Approval the core
// receives. The core checks the same limits again (only a subset of the asked
// paths, never a longer life, sensitive categories only when ticked).
import type { AccessRequest, Approval, AskedItem, Category } from "./api";
import { describePaths, formatLifetime } from "./format";

export type RequestedItem = AskedItem;

export interface Ticks {
  /** Path → ticked (granted). */
  paths: Record<string, boolean>;
  /** Seconds chosen, or null for "as asked". */
  lifetime: number | null;
  /** Sensitive category → ticked. */
  sensitive: Partial<Record<Category, boolean>>;
}

export interface LifetimeChoice {
  /** null = as asked. */
  secs: number | null;
  label: string;
}

const HOUR = 3600;
const DAY = 24 * HOUR;
export const LIFETIME_PRESETS = [HOUR, DAY, 7 * DAY, 30 * DAY, 90 * DAY];

/** Each asked path once, in the order asked, with what was asked beside it:
 * the core's own items, so what the card shows is what a kept item grants. */
export function requestedItems(request: AccessRequest): RequestedItem[] {
  return request.items;
}

/** For an unticked item: the ticked item that still reaches it (a ticked
 * container it lies in), so the card can say that unticking it alone
 * changes nothing; null when nothing ticked reaches it. */
export function stillReachedBy(request: AccessRequest, ticks: Ticks, path: string): string | null {
  if (ticks.paths[path]) return null;
  const wider = requestedItems(request).find(
    (i) => i.path !== path && ticks.paths[i.path] && i.path.endsWith("/") && path.startsWith(i.path),
  );
  return wider ? wider.path : null;
}

/** The purposes given, each once. */
export function purposes(request: AccessRequest): string[] {
  return [...new Set(request.details.map((d) => d.purpose.trim()).filter(Boolean))];
}

/** As the card first shows it: every path ticked, the asked lifetime, no sensitive category. */
export function initialTicks(request: AccessRequest): Ticks {
  const paths: Record<string, boolean> = {};
  for (const item of requestedItems(request)) paths[item.path] = true;
  return { paths, lifetime: null, sensitive: {} };
}

/** "As asked" first, then the presets shorter than what was asked. */
export function lifetimeChoices(askedSecs: number): LifetimeChoice[] {
  return [
    { secs: null, label: `As asked: ${formatLifetime(askedSecs)}` },
    ...LIFETIME_PRESETS.filter((s) => s < askedSecs).map((secs) => ({ secs, label: formatLifetime(secs) })),
  ];
}

export type ApprovalResult = { ok: true; approval: Approval } | { ok: false; message: string };

export function buildApproval(request: AccessRequest, ticks: Ticks): ApprovalResult {
  const all = requestedItems(request).map((i) => i.path);
  const ticked = all.filter((p) => ticks.paths[p]);
  if (ticked.length === 0) {
    return { ok: false, message: "Nothing is ticked. Tick at least one item, or deny the request." };
  }
  const lifetime =
    ticks.lifetime === null || ticks.lifetime >= request.grant_lifetime ? null : Math.max(1, Math.floor(ticks.lifetime));
  return {
    ok: true,
    approval: {
      only: ticked.length === all.length ? [] : ticked,
      lifetime_secs: lifetime,
      sensitive: request.sensitive_asked.filter((c) => ticks.sensitive[c]),
    },
  };
}

/** One sentence on what approving will grant: "everything in /contact/ for 7 days". */
export function describeApproval(request: AccessRequest, approval: Approval): string {
  const paths = approval.only.length ? approval.only : requestedItems(request).map((i) => i.path);
  const life = formatLifetime(approval.lifetime_secs ?? request.grant_lifetime);
  const sensitive = approval.sensitive.length
    ? `, including ${approval.sensitive.join(", ")} data`
    : request.sensitive_asked.length
      ? `, without ${request.sensitive_asked.join(", ")} data`
      : "";
  return `${describePaths(paths)} for ${life}${sensitive}`;
}
