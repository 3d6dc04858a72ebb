// A consent receipt's claims in plain words, for the Receipt view. The
// claims arrive decoded but not trusted (the view shows separately whether
// this vault vouches for them), so every field is read defensively: a
// missing or odd one becomes null or empty, never an exception.
import type { Action, ReceiptEvent } from "./api";
import { describeActions, describePaths, formatLifetime } from "./format";

const EVENT_WORDS: Record<ReceiptEvent, string> = {
  given: "Given as asked",
  given_narrower: "Given, narrower than asked",
  refused: "Refused",
  withdrawn: "Withdrawn by you",
  ended: "Ended by the company",
  expired: "Expired",
  cut_off: "Company cut off",
};

/** "given_narrower" → "Given, narrower than asked"; an unknown event as written. */
export function eventLabel(event: string): string {
  return (EVENT_WORDS as Record<string, string>)[event] ?? event;
}

/** One item of what a receipt covers: a purpose and what it reaches. */
export interface ReceiptItem {
  purpose: string;
  /** "read everything in /contact/". */
  access: string;
  categories: string[];
  sensitive: string[];
}

/** What was given (or asked, or refused), as the receipt states it. */
export interface ReceiptScope {
  purposes: string[];
  items: ReceiptItem[];
  sensitive: string[];
  /** "1 day"; null when the receipt names no lifetime. */
  lifetime: string | null;
  howToWithdraw: string | null;
}

export interface ReceiptFacts {
  id: string | null;
  event: string;
  eventLabel: string;
  /** When the decision took effect (ISO 8601). */
  time: string | null;
  /** given, refused, withdrawn or expired. */
  state: string | null;
  validFrom: string | null;
  validUntil: string | null;
  company: { name: string | null; clientId: string | null; identifiedBy: string | null };
  /** What the decision covers: given, or for a refusal what was refused. */
  scope: ReceiptScope | null;
  /** What was asked, only when it differs from what was given. */
  asked: ReceiptScope | null;
  podId: string | null;
  logHead: { seq: number | null; hash: string | null } | null;
  requestSha256: string | null;
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | null {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

const ACTIONS: Action[] = ["read", "append", "write"];

function item(v: unknown): ReceiptItem | null {
  const o = obj(v);
  if (!o) return null;
  const actions = strings(o.actions).filter((a): a is Action => (ACTIONS as string[]).includes(a));
  return {
    purpose: str(o.purpose) ?? "",
    access: `${describeActions(actions)} ${describePaths(strings(o.paths))}`,
    categories: strings(o.data_categories),
    sensitive: strings(o.sensitive_categories),
  };
}

/** A receipt's `processing` (or `asked`) object in words; null when absent. */
export function readScope(v: unknown): ReceiptScope | null {
  const o = obj(v);
  if (!o) return null;
  const secs = num(o.lifetime_seconds);
  return {
    purposes: strings(o.purposes),
    items: (Array.isArray(o.items) ? o.items : []).map(item).filter((i): i is ReceiptItem => i !== null),
    sensitive: strings(o.sensitive_categories),
    lifetime: secs === null ? null : formatLifetime(secs),
    howToWithdraw: str(o.how_to_withdraw),
  };
}

/** Everything the Receipt view shows, read from the decoded claims. */
export function readReceipt(claims: unknown): ReceiptFacts {
  const c = obj(claims) ?? {};
  const event = obj(c.event) ?? {};
  const validity = obj(event.validity);
  const controller = obj(c.controller) ?? {};
  const subject = obj(c.data_subject);
  const head = obj(c.log_head);
  const type = str(event.type) ?? "unknown";
  return {
    id: str(c.receipt_id) ?? str(c.jti),
    event: type,
    eventLabel: eventLabel(type),
    time: str(event.time),
    state: str(event.state),
    validFrom: validity ? str(validity.from) : null,
    validUntil: validity ? str(validity.until) : null,
    company: {
      name: str(controller.name),
      clientId: str(controller.client_id) ?? str(c.aud),
      identifiedBy: str(controller.identified_by),
    },
    scope: readScope(c.processing),
    asked: readScope(c.asked),
    podId: (subject ? str(subject.agent) : null) ?? str(c.iss),
    logHead: head ? { seq: num(head.seq), hash: str(head.hash) } : null,
    requestSha256: str(obj(c.request)?.details_sha256),
  };
}

/** The heading of what the receipt covers, by its event. */
export function scopeHeading(event: string): string {
  switch (event) {
    case "refused":
      return "What was asked and refused";
    case "given":
    case "given_narrower":
      return "What was given";
    default:
      return "What the grant covered";
  }
}
