// The preferences screen's form model and its conversion to and from the
// core's `CommunicationPreferences`. Validation here only gives helpful
// messages before saving; the core checks every field again
// (src-tauri/crates/core/src/preferences.rs).
import type { CommunicationPreferences, Period, Personalisation } from "./api";

export type Channel = keyof CommunicationPreferences["channels"];

export const CHANNELS: { id: Channel; label: string; description: string }[] = [
  { id: "email", label: "Email", description: "Messages to your email address" },
  { id: "sms", label: "Text messages", description: "SMS to your phone number" },
  { id: "phone", label: "Phone calls", description: "Calls from a person or an automated system" },
  { id: "post", label: "Post", description: "Letters and catalogues to your address" },
  { id: "push", label: "App notifications", description: "Notifications from a company's app" },
];

export const PERIODS: { id: Period; label: string }[] = [
  { id: "day", label: "per day" },
  { id: "week", label: "per week" },
  { id: "month", label: "per month" },
];

export const PERSONALISATION: { id: Personalisation; label: string; description: string }[] = [
  {
    id: "none",
    label: "None",
    description: "Everyone sees the same thing. Companies may not tailor messages or offers to you.",
  },
  {
    id: "light",
    label: "Light",
    description: "Companies may use what you told them directly (such as your topics), but not profile you.",
  },
  {
    id: "full",
    label: "Full",
    description: "Companies may tailor messages and offers using what they know about you.",
  },
];

/** Mirrors the core's limits, for messages before saving. */
export const MAX_CAP = 1000;
export const MAX_TOPICS = 50;
export const MAX_TOPIC_CHARS = 64;

/** What the form's controls hold. Quiet hours and the cap keep their values while switched off. */
export interface PreferencesForm {
  channels: Record<Channel, boolean>;
  quietEnabled: boolean;
  quietStart: string;
  quietEnd: string;
  timeZone: string;
  capEnabled: boolean;
  /** `<input type=number>` gives a number, or null when empty. */
  capMax: number | null;
  capPer: Period;
  /** Comma-separated. */
  topics: string;
  personalisation: Personalisation;
  doNotSell: boolean;
}

export type PreferencesField = "quietStart" | "quietEnd" | "timeZone" | "capMax" | "topics";
export type PreferencesErrors = Partial<Record<PreferencesField, string>>;

/** The system's IANA time zone, or UTC. */
export function systemTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** The form for saved (or default) preferences. */
export function toForm(prefs: CommunicationPreferences, fallbackTimeZone = systemTimeZone()): PreferencesForm {
  return {
    channels: { ...prefs.channels },
    quietEnabled: prefs.quiet_hours !== null,
    quietStart: prefs.quiet_hours?.start ?? "21:00",
    quietEnd: prefs.quiet_hours?.end ?? "08:00",
    timeZone: prefs.quiet_hours?.time_zone ?? fallbackTimeZone,
    capEnabled: prefs.frequency_cap !== null,
    capMax: prefs.frequency_cap?.max ?? 1,
    capPer: prefs.frequency_cap?.per ?? "week",
    topics: prefs.topics.join(", "),
    personalisation: prefs.personalisation,
    doNotSell: prefs.do_not_sell,
  };
}

/** Topics from a comma-separated list: trimmed, empty ones dropped, duplicates removed (as the core's `prefs set` does). */
export function parseTopics(text: string): string[] {
  const topics: string[] = [];
  for (const raw of text.split(",")) {
    const topic = raw.trim();
    if (topic !== "" && !topics.includes(topic)) topics.push(topic);
  }
  return topics;
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d(\.\d+)?)?$/;

/** A time input's value as `HH:MM`, or null when it is not a time. Seconds, if any, are dropped. */
export function normaliseTime(value: string): string | null {
  const v = value.trim();
  return TIME.test(v) ? v.slice(0, 5) : null;
}

/**
 * Messages for fields that the core would refuse. `knownTimeZones` (from
 * `timeZones()`) is checked only when given and non-empty.
 */
export function validateForm(form: PreferencesForm, knownTimeZones?: readonly string[]): PreferencesErrors {
  const errors: PreferencesErrors = {};
  if (form.quietEnabled) {
    const start = normaliseTime(form.quietStart);
    const end = normaliseTime(form.quietEnd);
    if (start === null) errors.quietStart = "Enter a start time, like 21:00.";
    if (end === null) errors.quietEnd = "Enter an end time, like 08:00.";
    if (start !== null && end !== null && start === end) {
      errors.quietEnd = "Quiet hours must end at a different time than they start.";
    }
    const tz = form.timeZone.trim();
    if (tz === "") errors.timeZone = "Choose a time zone.";
    else if (knownTimeZones && knownTimeZones.length > 0 && !knownTimeZones.includes(tz)) {
      errors.timeZone = `“${tz}” is not a time zone Custodian knows; pick one from the list.`;
    }
  }
  if (form.capEnabled) {
    const max = form.capMax;
    if (max === null || !Number.isFinite(max) || !Number.isInteger(max)) {
      errors.capMax = "Enter a whole number of contacts.";
    } else if (max < 1) {
      errors.capMax = "Allow at least 1 contact. To refuse all contact, turn the channels off.";
    } else if (max > MAX_CAP) {
      errors.capMax = `At most ${MAX_CAP}. For no limit, turn the frequency cap off.`;
    }
  }
  const topics = parseTopics(form.topics);
  const tooLong = topics.find((t) => [...t].length > MAX_TOPIC_CHARS);
  if (topics.length > MAX_TOPICS) errors.topics = `At most ${MAX_TOPICS} topics (you have ${topics.length}).`;
  else if (tooLong) errors.topics = `“${tooLong.slice(0, 20)}…” is longer than ${MAX_TOPIC_CHARS} characters.`;
  return errors;
}

export function hasErrors(errors: PreferencesErrors): boolean {
  return Object.keys(errors).length > 0;
}

/** The preferences to save, or the messages to show instead. */
export function fromForm(
  form: PreferencesForm,
  knownTimeZones?: readonly string[],
): { ok: true; preferences: CommunicationPreferences } | { ok: false; errors: PreferencesErrors } {
  const errors = validateForm(form, knownTimeZones);
  if (hasErrors(errors)) return { ok: false, errors };
  return {
    ok: true,
    preferences: {
      channels: { ...form.channels },
      quiet_hours: form.quietEnabled
        ? {
            start: normaliseTime(form.quietStart)!,
            end: normaliseTime(form.quietEnd)!,
            time_zone: form.timeZone.trim(),
          }
        : null,
      frequency_cap: form.capEnabled ? { max: form.capMax!, per: form.capPer } : null,
      topics: parseTopics(form.topics),
      personalisation: form.personalisation,
      do_not_sell: form.doNotSell,
    },
  };
}

/** Whether the quiet window runs past midnight (e.g. 21:00–08:00), for a plain-words summary. */
export function wrapsMidnight(start: string, end: string): boolean {
  const s = normaliseTime(start);
  const e = normaliseTime(end);
  return s !== null && e !== null && e < s;
}

/** Time zones matching a filter (case-insensitive, `_` as space), always keeping `keep`. */
export function filterTimeZones(zones: readonly string[], filter: string, keep?: string): string[] {
  const f = filter.trim().toLowerCase().replace(/[\s_]+/g, " ");
  const matched = f === "" ? [...zones] : zones.filter((z) => z.toLowerCase().replace(/_/g, " ").includes(f));
  if (keep && !matched.includes(keep)) matched.unshift(keep);
  return matched;
}
