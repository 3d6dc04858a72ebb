// Companies on the internet, in the window's words: whether a company's
// name was checked (a linked company's domain is; a device-flow program's
// name is only what it claims), how a grant's deliveries stand, and the
// log's new entries in plain words.
import type { AuditEntry, DeliveryStatus, LinkedCompany } from "./api";

/** What the window says about who is asking. */
export interface Identity {
  verified: boolean;
  /** The badge's text. */
  label: string;
  /** The badge's longer explanation (its title). */
  explanation: string;
}

export function identityOf(company: LinkedCompany | null | undefined): Identity {
  if (company?.verified) {
    return {
      verified: true,
      label: `Verified: ${company.domain}`,
      explanation: `Custodian fetched this request from ${company.domain} over HTTPS and checked the company's signature with the keys ${company.domain} publishes.`,
    };
  }
  return {
    verified: false,
    label: "Unverified",
    explanation: "Custodian cannot check who runs this program: its name is only what it says.",
  };
}

/** The log's entries about companies on the internet, in plain words; null for the others (shown as they are). */
export function entryWords(entry: Pick<AuditEntry, "action" | "outcome">): string | null {
  const ok = entry.outcome === "allowed";
  switch (entry.action) {
    case "connect":
      return ok ? "Fetched the company's request" : "Refused the company's request";
    case "deliver":
      return ok ? "Sent to the company" : "Could not send to the company";
    case "feed":
      return ok ? "Added from the company" : "Refused from the company";
    default:
      return null;
  }
}

/** How a grant's deliveries stand, for Access. */
export interface DeliveryState {
  /** When the newest delivery arrived, if any did. */
  lastDelivered: string | null;
  /** Deliveries waiting to be sent (including one being retried). */
  queued: number;
  /** The delivery that is failing: retried (`stopped` false) or given up until "Send now" (`stopped` true). */
  failing: { event: string; reason: string; nextAttempt: string | null; stopped: boolean } | null;
  /** Whether "Send now" has anything to do. */
  canSendNow: boolean;
}

export function deliveryState(list: readonly DeliveryStatus[]): DeliveryState {
  let lastDelivered: string | null = null;
  let queued = 0;
  let failing: DeliveryState["failing"] = null;
  for (const d of list) {
    if (d.status === "delivered" && d.delivered_at && (!lastDelivered || d.delivered_at > lastDelivered)) {
      lastDelivered = d.delivered_at;
    }
    if (d.status === "queued") queued += 1;
    const stopped = d.status === "failed";
    const retrying = d.status === "queued" && d.attempts > 0 && !!d.last_error;
    if ((stopped || retrying) && (!failing || (stopped && !failing.stopped))) {
      failing = {
        event: d.event,
        reason: d.last_error ?? "no answer",
        nextAttempt: stopped ? null : d.next_attempt_at,
        stopped,
      };
    }
  }
  const canSendNow = list.some((d) => d.status === "queued" || d.status === "failed");
  return { lastDelivered, queued, failing, canSendNow };
}

/** The delivery events in plain words. */
export function eventWords(event: string): string {
  switch (event) {
    case "granted":
      return "your approval and the data it covers";
    case "denied":
      return "your refusal";
    case "updated":
      return "a change to the data";
    case "revoked":
      return "the end of access (revoked)";
    case "expired":
      return "the end of access (expired)";
    default:
      return event;
  }
}
