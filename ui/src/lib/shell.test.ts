import { describe, expect, it } from "vitest";
import { isAppError, errorMessage } from "./api";
import { badgeText, pendingLabel, pointElsewhere, SECTIONS, viewFor } from "./shell";

describe("viewFor", () => {
  it("maps every vault state to a view", () => {
    expect(viewFor("missing")).toBe("first-run");
    expect(viewFor("locked")).toBe("unlock");
    expect(viewFor("not_a_vault")).toBe("not-a-vault");
    expect(viewFor("unlocked")).toBe("main");
  });
});

describe("sections", () => {
  it("lists the sidebar in order with unique ids", () => {
    expect(SECTIONS.map((s) => s.id)).toEqual([
      "data",
      "preferences",
      "requests",
      "access",
      "activity",
      "bundle",
      "settings",
    ]);
    expect(SECTIONS.find((s) => s.id === "requests")?.label).toBe("Sharing");
  });
});

describe("pending badge", () => {
  it("is absent at 0 and shows the exact count otherwise", () => {
    expect(badgeText(0)).toBeNull();
    expect(badgeText(-1)).toBeNull();
    expect(badgeText(1)).toBe("1");
    expect(badgeText(42)).toBe("42");
    expect(badgeText(120)).toBe("120");
  });

  it("reads well for screen readers", () => {
    expect(pendingLabel(1)).toBe("1 request waiting");
    expect(pendingLabel(3)).toBe("3 requests waiting");
  });
});

describe("pointElsewhere", () => {
  it("names the folder and both ways to choose another", () => {
    const text = pointElsewhere({ path: "/tmp/photos", state: "not_a_vault" });
    expect(text.summary).toContain("/tmp/photos");
    expect(text.flag).toContain("--vault");
    expect(text.env).toContain("CUSTODIAN_VAULT=");
  });
});

describe("errors from commands", () => {
  it("recognises {kind, message} and nothing else", () => {
    expect(isAppError({ kind: "io", message: "disk full" })).toBe(true);
    expect(isAppError({ kind: "io" })).toBe(false);
    expect(isAppError("boom")).toBe(false);
    expect(isAppError(null)).toBe(false);
  });

  it("shows the core's message, or the thrown text", () => {
    expect(errorMessage({ kind: "wrong_passphrase", message: "That is not the passphrase." })).toBe(
      "That is not the passphrase.",
    );
    expect(errorMessage("boom")).toBe("boom");
  });
});
