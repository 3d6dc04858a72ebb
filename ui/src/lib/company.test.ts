import { describe, expect, it } from "vitest";
import type { DeliveryStatus, LinkedCompany } from "./api";
import { deliveryState, entryWords, eventWords, identityOf } from "./company";

const shop: LinkedCompany = {
  domain: "shop.test",
  verified: true,
  logo_uri: null,
  policy_uri: "https://shop.test/privacy",
  client_uri: null,
  delivery_uri: "https://shop.test/custodian/deliveries",
};

describe("identityOf", () => {
  it("names the verified domain of a linked company", () => {
    const id = identityOf(shop);
    expect(id.verified).toBe(true);
    expect(id.label).toBe("Verified: shop.test");
    expect(id.explanation).toContain("shop.test");
  });

  it("keeps a device-flow program unverified", () => {
    expect(identityOf(null).verified).toBe(false);
    expect(identityOf(undefined).label).toBe("Unverified");
    expect(identityOf({ ...shop, verified: false }).label).toBe("Unverified");
  });
});

describe("entryWords", () => {
  it("says what connect, deliver and feed entries mean", () => {
    expect(entryWords({ action: "connect", outcome: "allowed" })).toBe("Fetched the company's request");
    expect(entryWords({ action: "deliver", outcome: "allowed" })).toBe("Sent to the company");
    expect(entryWords({ action: "deliver", outcome: "denied" })).toBe("Could not send to the company");
    expect(entryWords({ action: "feed", outcome: "allowed" })).toBe("Added from the company");
    expect(entryWords({ action: "feed", outcome: "denied" })).toBe("Refused from the company");
  });

  it("leaves reads and the rest as they are", () => {
    expect(entryWords({ action: "read", outcome: "allowed" })).toBeNull();
  });
});

function delivery(over: Partial<DeliveryStatus>): DeliveryStatus {
  return {
    id: "dlv_1",
    client_id: "https://shop.test/custodian/client.json",
    request_id: "req_1",
    grant_id: "grt_1",
    seq: 1,
    event: "granted",
    status: "delivered",
    attempts: 1,
    created_at: "2026-11-30T07:00:00Z",
    next_attempt_at: null,
    last_attempt_at: "2026-11-30T07:00:01Z",
    last_error: null,
    last_status: 200,
    delivered_at: "2026-11-30T07:00:01Z",
    ...over,
  };
}

describe("deliveryState", () => {
  it("has nothing to say before any delivery", () => {
    expect(deliveryState([])).toEqual({ lastDelivered: null, queued: 0, failing: null, canSendNow: false });
  });

  it("keeps the newest delivery time and counts what waits", () => {
    const s = deliveryState([
      delivery({ delivered_at: "2026-11-30T07:00:01Z" }),
      delivery({ id: "dlv_2", seq: 2, event: "updated", delivered_at: "2026-11-30T08:00:00Z" }),
      delivery({ id: "dlv_3", seq: 3, event: "updated", status: "queued", attempts: 0, delivered_at: null, next_attempt_at: "2026-11-30T08:01:00Z" }),
    ]);
    expect(s.lastDelivered).toBe("2026-11-30T08:00:00Z");
    expect(s.queued).toBe(1);
    expect(s.failing).toBeNull();
    expect(s.canSendNow).toBe(true);
  });

  it("shows a retried delivery's reason and next attempt", () => {
    const s = deliveryState([
      delivery({ status: "queued", attempts: 2, last_error: "HTTP 503 from shop.test", delivered_at: null, next_attempt_at: "2026-11-30T07:01:00Z" }),
    ]);
    expect(s.failing).toEqual({ event: "granted", reason: "HTTP 503 from shop.test", nextAttempt: "2026-11-30T07:01:00Z", stopped: false });
  });

  it("prefers a delivery given up until Send now", () => {
    const s = deliveryState([
      delivery({ status: "queued", attempts: 2, last_error: "timed out", delivered_at: null, next_attempt_at: "2026-11-30T07:01:00Z" }),
      delivery({ id: "dlv_2", status: "failed", attempts: 1, last_error: "HTTP 400 from shop.test", delivered_at: null }),
    ]);
    expect(s.failing).toMatchObject({ reason: "HTTP 400 from shop.test", stopped: true, nextAttempt: null });
    expect(s.canSendNow).toBe(true);
  });

  it("has nothing to send when all is delivered or moot", () => {
    expect(deliveryState([delivery({}), delivery({ id: "dlv_2", status: "moot", delivered_at: null })]).canSendNow).toBe(false);
  });
});

describe("eventWords", () => {
  it("says each event plainly", () => {
    expect(eventWords("granted")).toContain("approval");
    expect(eventWords("revoked")).toContain("revoked");
    expect(eventWords("other")).toBe("other");
  });
});
