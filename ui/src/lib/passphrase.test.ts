import { describe, expect, it } from "vitest";
import {
  charCount,
  confirmationMismatch,
  estimateStrength,
  meetsMinimum,
  newPassphraseProblem,
} from "./passphrase";

describe("meetsMinimum mirrors the core's rule", () => {
  it("refuses empty, blank and short passphrases", () => {
    expect(meetsMinimum("")).toBe(false);
    expect(meetsMinimum("        ")).toBe(false);
    expect(meetsMinimum("short")).toBe(false);
    expect(meetsMinimum("1234567")).toBe(false);
  });

  it("accepts 8 characters, counted as the core counts them", () => {
    expect(meetsMinimum("12345678")).toBe(true);
    expect(meetsMinimum("éééééééé")).toBe(true);
    expect(charCount("🔑🔑🔑🔑")).toBe(4);
    expect(meetsMinimum("🔑🔑🔑🔑🔑🔑🔑")).toBe(false);
  });
});

describe("estimateStrength", () => {
  it("scores what the vault would refuse as 0 and says how many characters are missing", () => {
    expect(estimateStrength("").score).toBe(0);
    expect(estimateStrength("").label).toBe("Empty");
    const short = estimateStrength("abcde");
    expect(short.score).toBe(0);
    expect(short.label).toBe("Too short");
    expect(short.hint).toContain("3 more characters");
    expect(estimateStrength("abcdefg").hint).toContain("1 more character needed");
  });

  it("rates common words and patterns as weak", () => {
    expect(estimateStrength("password").score).toBe(1);
    expect(estimateStrength("12345678").score).toBe(1);
    expect(estimateStrength("aaaaaaaaaaaa").score).toBe(1);
    expect(estimateStrength("Password1").score).toBe(1);
  });

  it("rates a long passphrase of unrelated words as strong", () => {
    const s = estimateStrength("correct horse battery staple");
    expect(s.score).toBe(4);
    expect(s.label).toBe("Strong");
  });

  it("rises with length and variety", () => {
    const scores = ["kettle12", "kettle-Lamp9", "kettle lamp river", "kettle lamp river Orbit 42"].map(
      (p) => estimateStrength(p).score,
    );
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeGreaterThanOrEqual(scores[i - 1]);
    expect(scores[0]).toBeLessThan(scores[scores.length - 1]);
  });

  it("always gives a label and a hint", () => {
    for (const p of ["", "x", "password", "Tr0ub4dor&3", "correct horse battery staple"]) {
      const s = estimateStrength(p);
      expect(s.label).not.toBe("");
      expect(s.hint).not.toBe("");
      expect(s.score).toBeGreaterThanOrEqual(0);
      expect(s.score).toBeLessThanOrEqual(4);
    }
  });
});

describe("newPassphraseProblem", () => {
  it("asks for a passphrase, then for length, then for a match", () => {
    expect(newPassphraseProblem("", "")).toBe("Choose a passphrase.");
    expect(newPassphraseProblem("short", "short")).toContain("at least 8");
    expect(newPassphraseProblem("long enough", "long enougH")).toBe("The two passphrases do not match.");
    expect(newPassphraseProblem("long enough", "long enough")).toBeNull();
  });

  it("shows a mismatch only once the confirmation is being typed", () => {
    expect(confirmationMismatch("long enough", "")).toBe(false);
    expect(confirmationMismatch("long enough", "long")).toBe(true);
    expect(confirmationMismatch("long enough", "long enough")).toBe(false);
  });
});
