import { describe, expect, it } from "vitest";
import type { VaultCheck } from "./api";
import { describeCheck } from "./integrity";

const whole: VaultCheck = {
  pages: [],
  log: { entries: 12, first_broken: null },
  counts: { differing: 0, differences: [], repaired: false },
};

describe("describeCheck", () => {
  it("says all is well when pages, log and counts hold", () => {
    expect(describeCheck(whole)).toEqual({
      ok: true,
      text: "All 12 entries intact; every page of the vault authenticates.",
    });
  });

  it("names the first broken log entry", () => {
    const r = describeCheck({ ...whole, log: { entries: 12, first_broken: 4 } });
    expect(r.ok).toBe(false);
    expect(r.text).toBe("Entry #4 is broken: the log was changed from there on.");
  });

  it("puts damaged pages first and says how to recover", () => {
    const r = describeCheck({ pages: ["HMAC check failed for pgno=3", "pgno=9"], log: null, counts: null });
    expect(r.ok).toBe(false);
    expect(r.text).toContain("2 pages fail its check");
    expect(r.text).toContain("Restore it from a bundle");
  });

  it("says when counts were rebuilt, and it is still intact", () => {
    const r = describeCheck({ ...whole, counts: { differing: 1, differences: [{ counted: { container: "/a/" }, stored: 2, scanned: 3 }], repaired: true } });
    expect(r.ok).toBe(true);
    expect(r.text).toContain("1 count of your data (shown beside containers and in the overview) was out of date and has been rebuilt.");
  });
});
