import { describe, expect, it } from "vitest";
import { bundleToOpen, openCommand, openerFrom, sealFrom, shellQuote } from "./bundleForm";

describe("sealFrom", () => {
  it("needs matching passphrases", () => {
    expect(sealFrom("passphrase", "", "", "")).toMatchObject({ ok: false });
    expect(sealFrom("passphrase", "a b c", "a b d", "")).toEqual({ ok: false, message: "The two passphrases differ." });
    expect(sealFrom("passphrase", "a b c", "a b c", "age1x")).toEqual({ ok: true, value: { passphrase: "a b c" } });
  });
  it("needs an age recipient", () => {
    expect(sealFrom("recipient", "", "", "  ")).toMatchObject({ ok: false });
    expect(sealFrom("recipient", "", "", "ssh-ed25519 AAAA")).toMatchObject({ ok: false });
    expect(sealFrom("recipient", "p", "p", " age1abc ")).toEqual({ ok: true, value: { recipient: "age1abc" } });
  });
});

describe("openerFrom", () => {
  it("takes a passphrase or an identity", () => {
    expect(openerFrom("passphrase", "", "")).toMatchObject({ ok: false });
    expect(openerFrom("passphrase", "pw", "")).toEqual({ ok: true, value: { passphrase: "pw" } });
    expect(openerFrom("identity", "pw", "")).toMatchObject({ ok: false });
    expect(openerFrom("identity", "", "AGE-SECRET-KEY-1X\n")).toEqual({ ok: true, value: { identity: "AGE-SECRET-KEY-1X" } });
  });
});

describe("bundleToOpen", () => {
  it("needs a path first, then a way to open it", () => {
    expect(bundleToOpen("  ", "passphrase", "pw", "")).toEqual({ ok: false, message: "Type the path of the bundle file." });
    expect(bundleToOpen("/tmp/b.age", "passphrase", "", "")).toEqual({ ok: false, message: "Type the bundle's passphrase." });
    expect(bundleToOpen(" /tmp/b.age ", "passphrase", "pw", "")).toEqual({
      ok: true,
      value: { path: "/tmp/b.age", opener: { passphrase: "pw" } },
    });
  });
});

describe("openCommand", () => {
  it("quotes paths with spaces or quotes", () => {
    expect(shellQuote("/home/ada/custodian-2026-11-02.custodian.age")).toBe("/home/ada/custodian-2026-11-02.custodian.age");
    expect(shellQuote("/home/ada/My Files/b.age")).toBe("'/home/ada/My Files/b.age'");
    expect(shellQuote("/tmp/ada's.age")).toBe("'/tmp/ada'\\''s.age'");
  });
  it("adds the identity file for a recipient bundle", () => {
    expect(openCommand("/tmp/b.age", "passphrase")).toBe("age -d /tmp/b.age | tar x");
    expect(openCommand("/tmp/b.age", "recipient")).toBe("age -d -i YOUR-KEY-FILE /tmp/b.age | tar x");
  });
});
