// The settings screen's checks and wording. The core (behind `saveSettings`)
// is the rule; these give messages before saving.
import type { Settings } from "./api";

export const DEFAULT_AUTO_LOCK_MINUTES = 10;
/** Mirrors `MAX_AUTO_LOCK_MINUTES` in src-tauri/src/settings.rs (a day). */
export const MAX_AUTO_LOCK_MINUTES = 24 * 60;
export const MIN_PORT = 1024;
export const MAX_PORT = 65535;

export interface SettingsErrors {
  autoLock?: string;
  port?: string;
}

/** Messages for values the core would refuse; `{}` when both look fine. */
export function validateSettings(autoLock: number | null, port: number | null): SettingsErrors {
  const errors: SettingsErrors = {};
  if (autoLock === null || !Number.isInteger(autoLock) || autoLock < 0) {
    errors.autoLock = "Enter a whole number of minutes (0 = never lock by itself).";
  } else if (autoLock > MAX_AUTO_LOCK_MINUTES) {
    errors.autoLock = `At most ${MAX_AUTO_LOCK_MINUTES} minutes (a day). 0 turns auto-lock off.`;
  }
  if (port === null || !Number.isInteger(port) || port < MIN_PORT || port > MAX_PORT) {
    errors.port = `Enter a port from ${MIN_PORT} to ${MAX_PORT}.`;
  }
  return errors;
}

/** The settings to save, or the messages to show instead. */
export function settingsFromForm(
  autoLock: number | null,
  port: number | null,
): { ok: true; settings: Settings } | { ok: false; errors: SettingsErrors } {
  const errors = validateSettings(autoLock, port);
  if (errors.autoLock || errors.port) return { ok: false, errors };
  return { ok: true, settings: { auto_lock_minutes: autoLock!, sharing_port: port! } };
}

/** "1 minute", "10 minutes", "2 hours", "1 hour 30 minutes". */
export function formatMinutes(minutes: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (minutes < 60) return plural(minutes, "minute");
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? plural(h, "hour") : `${plural(h, "hour")} ${plural(m, "minute")}`;
}

/** The auto-lock setting in plain words. */
export function describeAutoLock(minutes: number): string {
  return minutes <= 0 ? "The vault stays unlocked until you lock it." : `The vault locks after ${formatMinutes(minutes)} without activity.`;
}

/** The calm note on the unlock screen after the vault locked itself. */
export function lockedNote(minutes: number | null): string {
  return minutes && minutes > 0 ? `Locked after ${formatMinutes(minutes)} idle.` : "The vault was locked.";
}
