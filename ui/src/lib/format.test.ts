import { describe, expect, it } from "vitest";
import {
  describeActions,
  describePath,
  describePaths,
  formatAbsolute,
  formatBytes,
  formatLifetime,
  formatRelative,
  formatTimeLeft,
  joinWords,
} from "./format";

const now = new Date("2026-11-02T12:00:00Z");
const at = (secsFromNow: number) => new Date(now.getTime() + secsFromNow * 1000).toISOString();

describe("joinWords", () => {
  it("joins with commas and a final 'and'", () => {
    expect(joinWords([])).toBe("");
    expect(joinWords(["a"])).toBe("a");
    expect(joinWords(["a", "b"])).toBe("a and b");
    expect(joinWords(["a", "b", "c"])).toBe("a, b and c");
  });
});

describe("formatRelative", () => {
  it("says just now for the last few seconds", () => {
    expect(formatRelative(at(-10), now)).toBe("just now");
    expect(formatRelative(at(5), now)).toBe("just now");
  });
  it("uses minutes, hours and days in the past", () => {
    expect(formatRelative(at(-5 * 60), now)).toBe("5 min ago");
    expect(formatRelative(at(-3 * 3600), now)).toBe("3 h ago");
    expect(formatRelative(at(-86400), now)).toBe("1 day ago");
    expect(formatRelative(at(-2 * 86400), now)).toBe("2 days ago");
  });
  it("speaks of the future with 'in'", () => {
    expect(formatRelative(at(10 * 60), now)).toBe("in 10 min");
  });
  it("returns text that is not a time unchanged", () => {
    expect(formatRelative("soon", now)).toBe("soon");
  });
});

describe("formatAbsolute", () => {
  it("formats in the given locale and zone", () => {
    const text = formatAbsolute("2026-11-02T14:05:00Z", "en-GB", "UTC");
    expect(text).toContain("2026");
    expect(text).toContain("14:05");
    expect(text).toContain("Nov");
  });
  it("returns text that is not a time unchanged", () => {
    expect(formatAbsolute("never")).toBe("never");
  });
});

describe("formatTimeLeft", () => {
  it("says expired at and after the end", () => {
    expect(formatTimeLeft(at(0), now)).toBe("expired");
    expect(formatTimeLeft(at(-60), now)).toBe("expired");
  });
  it("counts seconds, minutes, hours and days", () => {
    expect(formatTimeLeft(at(40), now)).toBe("40 s");
    expect(formatTimeLeft(at(14 * 60 + 30), now)).toBe("14 min");
    expect(formatTimeLeft(at(2 * 3600 + 14 * 60 + 5), now)).toBe("2 h 14 min");
    expect(formatTimeLeft(at(3600), now)).toBe("1 h");
    expect(formatTimeLeft(at(3 * 86400 + 4 * 3600), now)).toBe("3 days 4 h");
    expect(formatTimeLeft(at(86400 + 10), now)).toBe("1 day");
  });
});

describe("formatLifetime", () => {
  it("uses the largest whole units", () => {
    expect(formatLifetime(3600)).toBe("1 hour");
    expect(formatLifetime(86400)).toBe("1 day");
    expect(formatLifetime(30 * 86400)).toBe("30 days");
    expect(formatLifetime(2 * 3600)).toBe("2 hours");
    expect(formatLifetime(90)).toBe("1 minute 30 seconds");
    expect(formatLifetime(5400)).toBe("1 hour 30 minutes");
    expect(formatLifetime(1)).toBe("1 second");
  });
  it("shows at most two units", () => {
    expect(formatLifetime(86400 + 3600 + 60 + 1)).toBe("1 day 1 hour");
  });
  it("handles nothing", () => {
    expect(formatLifetime(0)).toBe("no time");
  });
});

describe("formatBytes", () => {
  it("uses decimal units with one decimal below ten", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1200)).toBe("1.2 kB");
    expect(formatBytes(1_200_000)).toBe("1.2 MB");
    expect(formatBytes(2_000_000)).toBe("2 MB");
    expect(formatBytes(45_600_000)).toBe("46 MB");
    expect(formatBytes(3_000_000_000)).toBe("3 GB");
  });
});

describe("actions and paths in words", () => {
  it("describes actions in a fixed order", () => {
    expect(describeActions(["read"])).toBe("read");
    expect(describeActions(["write", "read"])).toBe("read and change");
    expect(describeActions(["read", "append", "write"])).toBe("read, add new and change");
    expect(describeActions([])).toBe("nothing");
  });
  it("describes containers as everything in them", () => {
    expect(describePath("/contact/")).toBe("everything in /contact/");
    expect(describePath("/profile/card")).toBe("/profile/card");
    expect(describePath("/")).toBe("everything in the vault");
    expect(describePaths(["/contact/", "/profile/card"])).toBe("everything in /contact/ and /profile/card");
    expect(describePaths([])).toBe("nothing");
  });
});
