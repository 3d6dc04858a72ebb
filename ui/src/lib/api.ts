// The one typed module that wraps every Tauri `invoke`. Components call
// these functions, never `invoke` directly.
import { invoke } from "@tauri-apps/api/core";

/** What is at the vault location, found without unlocking anything. */
export type VaultState = "missing" | "not_a_vault" | "locked";

export interface VaultStatus {
  path: string;
  state: VaultState;
  id?: string;
  format_version?: number;
}

/** Errors from the app's commands arrive as `{kind, message}`. */
export interface AppError {
  kind: string;
  message: string;
}

export function isAppError(value: unknown): value is AppError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as AppError).kind === "string" &&
    typeof (value as AppError).message === "string"
  );
}

export function vaultStatus(): Promise<VaultStatus> {
  return invoke<VaultStatus>("vault_status");
}
