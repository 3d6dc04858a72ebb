import { describe, expect, it } from "vitest";
import { describeAutoLock, formatMinutes, lockedNote, settingsFromForm, validateSettings } from "./settingsForm";

describe("validateSettings", () => {
  it("accepts 0 (never) and any whole minutes, and ports 1024-65535", () => {
    expect(validateSettings(0, 1024)).toEqual({});
    expect(validateSettings(10, 7070)).toEqual({});
    expect(validateSettings(600, 65535)).toEqual({});
  });

  it("refuses negative, fractional or missing minutes", () => {
    expect(validateSettings(-1, 7070).autoLock).toContain("0 = never");
    expect(validateSettings(1.5, 7070).autoLock).toBeDefined();
    expect(validateSettings(null, 7070).autoLock).toBeDefined();
  });

  it("refuses more than a day, as the app does", () => {
    expect(validateSettings(1440, 7070)).toEqual({});
    expect(validateSettings(1441, 7070).autoLock).toContain("At most 1440 minutes");
  });

  it("refuses ports outside 1024-65535", () => {
    expect(validateSettings(10, 80).port).toBe("Enter a port from 1024 to 65535.");
    expect(validateSettings(10, 65536).port).toBeDefined();
    expect(validateSettings(10, null).port).toBeDefined();
  });

  it("builds the settings only when both are fine", () => {
    expect(settingsFromForm(5, 7070)).toEqual({ ok: true, settings: { auto_lock_minutes: 5, sharing_port: 7070 } });
    expect(settingsFromForm(5, 1).ok).toBe(false);
  });
});

describe("wording", () => {
  it("formats minutes and hours", () => {
    expect(formatMinutes(1)).toBe("1 minute");
    expect(formatMinutes(10)).toBe("10 minutes");
    expect(formatMinutes(60)).toBe("1 hour");
    expect(formatMinutes(90)).toBe("1 hour 30 minutes");
    expect(formatMinutes(121)).toBe("2 hours 1 minute");
  });

  it("describes auto-lock, including never", () => {
    expect(describeAutoLock(0)).toBe("The vault stays unlocked until you lock it.");
    expect(describeAutoLock(10)).toBe("The vault locks after 10 minutes without activity.");
  });

  it("explains an automatic lock calmly", () => {
    expect(lockedNote(10)).toBe("Locked after 10 minutes idle.");
    expect(lockedNote(1)).toBe("Locked after 1 minute idle.");
    expect(lockedNote(0)).toBe("The vault was locked.");
    expect(lockedNote(null)).toBe("The vault was locked.");
  });
});
