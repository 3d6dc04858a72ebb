import { describe, expect, it } from "vitest";
import type { AccessRequest } from "./api";
import {
  buildApproval,
  describeApproval,
  initialTicks,
  lifetimeChoices,
  purposes,
  requestedItems,
  stillReachedBy,
} from "./approval";

const DAY = 86400;

function request(over: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: "req_1",
    client_id: "cli_shop",
    client_name: "Shop",
    details: [
      { type: "pod_access", paths: ["/contact/", "/profile/card"], actions: ["read"], purpose: "Delivering your orders" },
      { type: "pod_access", paths: ["/contact/", "/health/"], actions: ["write"], purpose: "Delivering your orders" },
    ],
    // As the core makes them (consent::asked_items).
    items: [
      { path: "/contact/", actions: ["read", "write"], datatypes: [], purposes: ["Delivering your orders"] },
      { path: "/profile/card", actions: ["read"], datatypes: [], purposes: ["Delivering your orders"] },
      { path: "/health/", actions: ["write"], datatypes: [], purposes: ["Delivering your orders"] },
    ],
    grant_lifetime: 30 * DAY,
    user_code: "WDJB-MJHT",
    status: "pending",
    created_at: "2026-11-02T12:00:00Z",
    expires_at: "2026-11-02T12:15:00Z",
    decided_at: null,
    grant_id: null,
    sensitive_asked: ["health"],
    ...over,
  };
}

describe("what was asked", () => {
  it("shows the core's items: each path once with what was asked beside it", () => {
    const r = request();
    expect(requestedItems(r)).toBe(r.items);
    expect(purposes(request())).toEqual(["Delivering your orders"]);
  });

  it("starts with every path ticked, as asked, sensitive unticked", () => {
    expect(initialTicks(request())).toEqual({
      paths: { "/contact/": true, "/profile/card": true, "/health/": true },
      lifetime: null,
      sensitive: {},
    });
  });
});

describe("buildApproval", () => {
  it("approves as asked with an empty only when everything is ticked", () => {
    const r = buildApproval(request(), initialTicks(request()));
    expect(r).toEqual({ ok: true, approval: { only: [], lifetime_secs: null, sensitive: [] } });
  });

  it("lists only the ticked paths when some are unticked", () => {
    const ticks = initialTicks(request());
    ticks.paths["/health/"] = false;
    const r = buildApproval(request(), ticks);
    expect(r.ok && r.approval.only).toEqual(["/contact/", "/profile/card"]);
  });

  it("says when an unticked item is still reached through a ticked wider one", () => {
    const r = request({
      items: [
        { path: "/", actions: ["read", "write"], datatypes: [], purposes: ["p"] },
        { path: "/contact/email", actions: ["read"], datatypes: [], purposes: ["p"] },
      ],
    });
    const ticks = initialTicks(r);
    ticks.paths["/contact/email"] = false;
    expect(stillReachedBy(r, ticks, "/contact/email")).toBe("/");
    expect(stillReachedBy(r, ticks, "/")).toBeNull();
    ticks.paths["/"] = false;
    expect(stillReachedBy(r, ticks, "/contact/email")).toBeNull();
  });

  it("refuses to approve nothing", () => {
    const ticks = initialTicks(request());
    for (const p of Object.keys(ticks.paths)) ticks.paths[p] = false;
    const r = buildApproval(request(), ticks);
    expect(r.ok).toBe(false);
  });

  it("never asks for a longer lifetime than asked", () => {
    const ticks = { ...initialTicks(request()), lifetime: 7 * DAY };
    const shorter = buildApproval(request(), ticks);
    expect(shorter.ok && shorter.approval.lifetime_secs).toBe(7 * DAY);
    const longer = buildApproval(request(), { ...ticks, lifetime: 90 * DAY });
    expect(longer.ok && longer.approval.lifetime_secs).toBeNull();
  });

  it("passes only the sensitive categories that were asked and ticked", () => {
    const ticks = { ...initialTicks(request()), sensitive: { health: true, finance: true } };
    const r = buildApproval(request(), ticks);
    expect(r.ok && r.approval.sensitive).toEqual(["health"]);
  });
});

describe("lifetimeChoices", () => {
  it("offers as asked and only the shorter presets", () => {
    expect(lifetimeChoices(30 * DAY)).toEqual([
      { secs: null, label: "As asked: 30 days" },
      { secs: 3600, label: "1 hour" },
      { secs: DAY, label: "1 day" },
      { secs: 7 * DAY, label: "7 days" },
    ]);
    expect(lifetimeChoices(3600)).toEqual([{ secs: null, label: "As asked: 1 hour" }]);
    expect(lifetimeChoices(365 * DAY)).toHaveLength(6);
  });
});

describe("describeApproval", () => {
  it("says what will be granted and for how long", () => {
    const r = request();
    expect(describeApproval(r, { only: ["/contact/"], lifetime_secs: DAY, sensitive: [] })).toBe(
      "everything in /contact/ for 1 day, without health data",
    );
    expect(describeApproval(r, { only: [], lifetime_secs: null, sensitive: ["health"] })).toBe(
      "everything in /contact/, /profile/card and everything in /health/ for 30 days, including health data",
    );
  });
});
