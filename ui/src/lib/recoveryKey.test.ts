import { describe, expect, it } from "vitest";
import { keyGroups, siblingPath, typeBackMatches, typeBackTarget, TYPE_BACK_CHARS } from "./recoveryKey";

const KEY = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS7XKD2M";

describe("type-back check", () => {
  it("asks for the key's last six characters", () => {
    expect(TYPE_BACK_CHARS).toBe(6);
    expect(typeBackTarget(KEY)).toBe("7XKD2M");
  });

  it("accepts them in any case and with surrounding spaces", () => {
    expect(typeBackMatches(KEY, "7XKD2M")).toBe(true);
    expect(typeBackMatches(KEY, "7xkd2m")).toBe(true);
    expect(typeBackMatches(KEY, "  7xKd2M \n")).toBe(true);
  });

  it("refuses anything else", () => {
    expect(typeBackMatches(KEY, "")).toBe(false);
    expect(typeBackMatches(KEY, "XKD2M")).toBe(false);
    expect(typeBackMatches(KEY, "7XKD2MX")).toBe(false);
    expect(typeBackMatches(KEY, "7XKD 2M")).toBe(false);
    expect(typeBackMatches(KEY, KEY)).toBe(false);
  });

  it("never matches when there is no key (wiped)", () => {
    expect(typeBackMatches("", "")).toBe(false);
    expect(typeBackMatches("", "      ")).toBe(false);
  });
});

describe("keyGroups", () => {
  it("splits the key into groups of four that join back to the key", () => {
    const groups = keyGroups(KEY);
    expect(groups[0]).toBe("AGE-");
    expect(groups.join("")).toBe(KEY);
    expect(groups.every((g) => g.length <= 4)).toBe(true);
  });
});

describe("siblingPath", () => {
  it("puts the file beside a suggested path, keeping the separator", () => {
    expect(siblingPath("/home/ada/Documents/custodian-2025-01-02.custodian.age", "key.txt")).toBe(
      "/home/ada/Documents/key.txt",
    );
    expect(siblingPath("C:\\Users\\ada\\Documents\\x.age", "key.txt")).toBe("C:\\Users\\ada\\Documents\\key.txt");
    expect(siblingPath("x.age", "key.txt")).toBe("key.txt");
  });
});
