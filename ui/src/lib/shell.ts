// What the app shell shows: which screen for the vault's state, the sidebar's
// sections, and the words for a folder that is not a vault.
import type { VaultState, VaultStatus } from "./api";

/** The shell's top-level views. */
export type View = "first-run" | "unlock" | "not-a-vault" | "main";

export function viewFor(state: VaultState): View {
  switch (state) {
    case "missing":
      return "first-run";
    case "locked":
      return "unlock";
    case "not_a_vault":
      return "not-a-vault";
    case "unlocked":
      return "main";
  }
}

/** The sections of the main layout, in sidebar order. */
export type Section = "data" | "preferences" | "requests" | "access" | "activity" | "bundle" | "settings";

export const SECTIONS: { id: Section; label: string }[] = [
  { id: "data", label: "My data" },
  { id: "preferences", label: "Preferences" },
  { id: "requests", label: "Sharing" },
  { id: "access", label: "Access" },
  { id: "activity", label: "Activity" },
  { id: "bundle", label: "Export & import" },
  { id: "settings", label: "Settings" },
];

/** The badge's text for pending requests (the exact count), or null for no badge. */
export function badgeText(pending: number): string | null {
  if (!Number.isFinite(pending) || pending <= 0) return null;
  return String(Math.floor(pending));
}

/** The badge's accessible wording. */
export function pendingLabel(pending: number): string {
  return pending === 1 ? "1 request waiting" : `${pending} requests waiting`;
}

/** The ways to point Custodian at another folder, for the "not a vault" screen. */
export function pointElsewhere(status: VaultStatus): { summary: string; flag: string; env: string } {
  return {
    summary: `${status.path} exists but is not a Custodian vault, so Custodian will not touch it.`,
    flag: "custodian-desktop --vault /path/to/vault",
    env: "CUSTODIAN_VAULT=/path/to/vault custodian-desktop",
  };
}
