import { describe, expect, it } from "vitest";
import type { CommunicationPreferences } from "./api";
import {
  filterTimeZones,
  fromForm,
  normaliseTime,
  parseTopics,
  toForm,
  validateForm,
  wrapsMidnight,
  type PreferencesForm,
} from "./preferencesForm";

const DEFAULTS: CommunicationPreferences = {
  channels: { email: true, sms: false, phone: false, post: false, push: false },
  quiet_hours: { start: "21:00", end: "08:00", time_zone: "Europe/London" },
  frequency_cap: { max: 1, per: "week" },
  topics: [],
  personalisation: "none",
  do_not_sell: true,
};

function form(overrides: Partial<PreferencesForm> = {}): PreferencesForm {
  return { ...toForm(DEFAULTS), ...overrides };
}

describe("toForm / fromForm", () => {
  it("round-trips the preferences unchanged", () => {
    const prefs: CommunicationPreferences = {
      channels: { email: true, sms: true, phone: false, post: true, push: false },
      quiet_hours: { start: "22:30", end: "07:15", time_zone: "America/New_York" },
      frequency_cap: { max: 3, per: "month" },
      topics: ["cycling", "jazz"],
      personalisation: "light",
      do_not_sell: false,
    };
    const result = fromForm(toForm(prefs));
    expect(result).toEqual({ ok: true, preferences: prefs });
  });

  it("fills sensible values for switched-off quiet hours and cap, and saves them as null", () => {
    const f = toForm({ ...DEFAULTS, quiet_hours: null, frequency_cap: null }, "Europe/Paris");
    expect(f.quietEnabled).toBe(false);
    expect(f.quietStart).toBe("21:00");
    expect(f.quietEnd).toBe("08:00");
    expect(f.timeZone).toBe("Europe/Paris");
    expect(f.capEnabled).toBe(false);
    expect(f.capMax).toBe(1);
    expect(f.capPer).toBe("week");
    const result = fromForm(f);
    expect(result.ok && result.preferences.quiet_hours).toBeNull();
    expect(result.ok && result.preferences.frequency_cap).toBeNull();
  });

  it("does not share the channels object with the source", () => {
    const f = toForm(DEFAULTS);
    f.channels.sms = true;
    expect(DEFAULTS.channels.sms).toBe(false);
  });

  it("drops seconds from time inputs and trims the time zone", () => {
    const result = fromForm(form({ quietStart: "21:00:00", quietEnd: "08:30", timeZone: " Europe/Berlin " }));
    expect(result.ok && result.preferences.quiet_hours).toEqual({
      start: "21:00",
      end: "08:30",
      time_zone: "Europe/Berlin",
    });
  });
});

describe("validation", () => {
  it("accepts the defaults", () => {
    expect(validateForm(form())).toEqual({});
  });

  it("wants HH:MM times that differ", () => {
    expect(validateForm(form({ quietStart: "" })).quietStart).toContain("start time");
    expect(validateForm(form({ quietEnd: "25:00" })).quietEnd).toContain("end time");
    expect(validateForm(form({ quietStart: "9:00" })).quietStart).toBeDefined();
    expect(validateForm(form({ quietStart: "08:00", quietEnd: "08:00" })).quietEnd).toContain("different");
  });

  it("ignores quiet-hour fields while quiet hours are off", () => {
    expect(validateForm(form({ quietEnabled: false, quietStart: "", timeZone: "" }))).toEqual({});
  });

  it("checks the time zone against the known list when there is one", () => {
    expect(validateForm(form({ timeZone: "" })).timeZone).toBe("Choose a time zone.");
    expect(validateForm(form({ timeZone: "Mars/Olympus" }), ["Europe/London"]).timeZone).toContain("Mars/Olympus");
    expect(validateForm(form({ timeZone: "Mars/Olympus" }), [])).toEqual({});
    expect(validateForm(form(), ["Europe/London"])).toEqual({});
  });

  it("wants a cap of at least 1 and at most 1000, whole", () => {
    expect(validateForm(form({ capMax: 0 })).capMax).toContain("at least 1");
    expect(validateForm(form({ capMax: -2 })).capMax).toContain("at least 1");
    expect(validateForm(form({ capMax: null })).capMax).toContain("whole number");
    expect(validateForm(form({ capMax: 2.5 })).capMax).toContain("whole number");
    expect(validateForm(form({ capMax: 1001 })).capMax).toContain("At most 1000");
    expect(validateForm(form({ capMax: 1000 }))).toEqual({});
    expect(validateForm(form({ capEnabled: false, capMax: null }))).toEqual({});
  });

  it("limits topics' number and length", () => {
    const many = Array.from({ length: 51 }, (_, i) => `t${i}`).join(",");
    expect(validateForm(form({ topics: many })).topics).toContain("At most 50");
    expect(validateForm(form({ topics: "x".repeat(65) })).topics).toContain("64 characters");
    expect(validateForm(form({ topics: "x".repeat(64) }))).toEqual({});
  });

  it("returns the errors instead of preferences", () => {
    const result = fromForm(form({ capMax: 0 }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.capMax).toBeDefined();
  });
});

describe("parseTopics", () => {
  it("trims, drops empties and removes duplicates, keeping the first order", () => {
    expect(parseTopics(" cycling, jazz ,, cycling,  , books ")).toEqual(["cycling", "jazz", "books"]);
    expect(parseTopics("")).toEqual([]);
    expect(parseTopics(" , ,")).toEqual([]);
  });
});

describe("times", () => {
  it("normalises time input values", () => {
    expect(normaliseTime("07:05")).toBe("07:05");
    expect(normaliseTime("23:59:30")).toBe("23:59");
    expect(normaliseTime("24:00")).toBeNull();
    expect(normaliseTime("7:05")).toBeNull();
    expect(normaliseTime("")).toBeNull();
  });

  it("knows when quiet hours run past midnight", () => {
    expect(wrapsMidnight("21:00", "08:00")).toBe(true);
    expect(wrapsMidnight("13:00", "14:00")).toBe(false);
  });
});

describe("filterTimeZones", () => {
  const zones = ["America/New_York", "Europe/London", "Europe/Paris", "UTC"];

  it("matches case-insensitively with spaces for underscores", () => {
    expect(filterTimeZones(zones, "new york")).toEqual(["America/New_York"]);
    expect(filterTimeZones(zones, "EUROPE")).toEqual(["Europe/London", "Europe/Paris"]);
    expect(filterTimeZones(zones, "")).toEqual(zones);
  });

  it("keeps the chosen zone visible so the select never loses it", () => {
    expect(filterTimeZones(zones, "paris", "UTC")).toEqual(["UTC", "Europe/Paris"]);
  });
});
