import { describe, expect, it } from "vitest";
import { eventLabel, readReceipt, readScope, scopeHeading } from "./receipt";

const given = {
  contact: ["/contact/"],
  health: ["/health/"],
};

/** Claims shaped as custodian-core's `receipts::claims` writes them. */
function claims(event: string, extra: Record<string, unknown> = {}) {
  return {
    iss: "pod-thumb",
    sub: "pod-thumb",
    aud: "cli_acme",
    jti: "rcp_1",
    receipt_id: "rcp_1",
    event: {
      type: event,
      time: "2026-11-30T12:00:00Z",
      state: "given",
      validity: { from: "2026-11-30T12:00:00Z", until: "2026-12-01T12:00:00Z" },
    },
    data_subject: { agent: "pod-thumb" },
    controller: { name: "Acme", client_id: "cli_acme", identified_by: "self-registered (RFC 7591), unverified" },
    processing: {
      purposes: ["Deliveries"],
      items: [
        {
          purpose: "Deliveries",
          paths: given.contact,
          actions: ["read"],
          data_categories: ["contact"],
          sensitive_categories: [],
        },
      ],
      sensitive: false,
      sensitive_categories: [],
      lifetime_seconds: 86400,
      how_to_withdraw: "Revoke it in your vault.",
    },
    request: { id: "req_1", details_sha256: "ab12" },
    log_head: { seq: 7, hash: "cafe" },
    ...extra,
  };
}

describe("eventLabel", () => {
  it("names every event in words, and an unknown one as written", () => {
    expect(eventLabel("given")).toBe("Given as asked");
    expect(eventLabel("given_narrower")).toBe("Given, narrower than asked");
    expect(eventLabel("refused")).toBe("Refused");
    expect(eventLabel("withdrawn")).toBe("Withdrawn by you");
    expect(eventLabel("ended")).toBe("Ended by the company");
    expect(eventLabel("expired")).toBe("Expired");
    expect(eventLabel("cut_off")).toBe("Company cut off");
    expect(eventLabel("paused")).toBe("paused");
  });
});

describe("readReceipt", () => {
  it("reads the event, the company, what was given, the pod id and the log head", () => {
    const facts = readReceipt(claims("given"));
    expect(facts.id).toBe("rcp_1");
    expect(facts.eventLabel).toBe("Given as asked");
    expect(facts.time).toBe("2026-11-30T12:00:00Z");
    expect(facts.validUntil).toBe("2026-12-01T12:00:00Z");
    expect(facts.company).toEqual({
      name: "Acme",
      clientId: "cli_acme",
      identifiedBy: "self-registered (RFC 7591), unverified",
    });
    expect(facts.scope?.purposes).toEqual(["Deliveries"]);
    expect(facts.scope?.items[0].access).toBe("read everything in /contact/");
    expect(facts.scope?.lifetime).toBe("1 day");
    expect(facts.scope?.howToWithdraw).toBe("Revoke it in your vault.");
    expect(facts.asked).toBeNull();
    expect(facts.podId).toBe("pod-thumb");
    expect(facts.logHead).toEqual({ seq: 7, hash: "cafe" });
    expect(facts.requestSha256).toBe("ab12");
  });

  it("shows what was asked beside what was given when they differ", () => {
    const asked = {
      purposes: ["Deliveries"],
      items: [
        {
          purpose: "Deliveries",
          paths: [...given.contact, ...given.health],
          actions: ["read", "write"],
          data_categories: ["contact", "health"],
          sensitive_categories: ["health"],
        },
      ],
      sensitive_categories: ["health"],
      lifetime_seconds: 7 * 86400,
    };
    const facts = readReceipt(claims("given_narrower", { asked }));
    expect(facts.asked?.items[0].access).toBe("read and change everything in /contact/ and everything in /health/");
    expect(facts.asked?.sensitive).toEqual(["health"]);
    expect(facts.asked?.lifetime).toBe("7 days");
    expect(facts.scope?.items[0].access).toBe("read everything in /contact/");
  });

  it("reads a refusal, which names no validity", () => {
    const c = claims("refused");
    c.event = { ...c.event, state: "refused", validity: null as never };
    const facts = readReceipt(c);
    expect(facts.eventLabel).toBe("Refused");
    expect(facts.validFrom).toBeNull();
    expect(facts.validUntil).toBeNull();
    expect(scopeHeading(facts.event)).toBe("What was asked and refused");
  });

  it("never throws on claims that are not a receipt's", () => {
    for (const odd of [null, 42, "text", [], { event: "given", processing: { items: [7, null] } }]) {
      const facts = readReceipt(odd);
      expect(facts.company.name).toBeNull();
      expect(facts.logHead).toBeNull();
    }
    expect(readReceipt({ event: { type: 3 } }).event).toBe("unknown");
    expect(readScope({ items: [7, null], lifetime_seconds: "1 day" })).toEqual({
      purposes: [],
      items: [],
      sensitive: [],
      lifetime: null,
      howToWithdraw: null,
    });
  });

  it("falls back to the JWT claims for the company and the pod", () => {
    const facts = readReceipt({ iss: "pod-x", aud: "cli_y", jti: "rcp_9" });
    expect(facts.podId).toBe("pod-x");
    expect(facts.company.clientId).toBe("cli_y");
    expect(facts.id).toBe("rcp_9");
  });
});

describe("scopeHeading", () => {
  it("says given, refused or covered by the event", () => {
    expect(scopeHeading("given")).toBe("What was given");
    expect(scopeHeading("given_narrower")).toBe("What was given");
    expect(scopeHeading("withdrawn")).toBe("What the grant covered");
  });
});
