import { describe, expect, it } from "vitest";
import { describeVaultStatus } from "./vaultStatus";
import { isAppError } from "./api";

describe("describeVaultStatus", () => {
  it("tells a person with no vault how to create one", () => {
    const text = describeVaultStatus({ path: "/home/ada/.local/share/custodian", state: "missing" });
    expect(text.title).toBe("No vault yet");
    expect(text.detail).toContain("/home/ada/.local/share/custodian");
    expect(text.command).toBe("custodian init");
  });

  it("names a directory that is not a vault and offers no command", () => {
    const text = describeVaultStatus({ path: "/tmp/photos", state: "not_a_vault" });
    expect(text.title).toBe("Not a vault");
    expect(text.command).toBeUndefined();
  });

  it("shows a locked vault's id and format", () => {
    const text = describeVaultStatus({ path: "/v", state: "locked", id: "7c93", format_version: 1 });
    expect(text.title).toBe("Your vault is locked");
    expect(text.detail).toContain("7c93");
    expect(text.detail).toContain("format 1");
  });
});

describe("isAppError", () => {
  it("accepts {kind, message} and nothing else", () => {
    expect(isAppError({ kind: "io", message: "disk full" })).toBe(true);
    expect(isAppError({ kind: "io" })).toBe(false);
    expect(isAppError("boom")).toBe(false);
    expect(isAppError(null)).toBe(false);
  });
});
