import type { VaultStatus } from "./api";

export interface StatusText {
  title: string;
  detail: string;
  command?: string;
}

/** The vault's state in plain words, for the placeholder window. */
export function describeVaultStatus(status: VaultStatus): StatusText {
  switch (status.state) {
    case "missing":
      return {
        title: "No vault yet",
        detail: `There is no vault at ${status.path}. Create one from a terminal:`,
        command: "custodian init",
      };
    case "not_a_vault":
      return {
        title: "Not a vault",
        detail: `${status.path} exists but is not a Custodian vault. Point Custodian elsewhere with --vault or CUSTODIAN_VAULT.`,
      };
    case "locked":
      return {
        title: "Your vault is locked",
        detail:
          `Vault ${status.id ?? ""} at ${status.path} (format ${status.format_version ?? "?"}). ` +
          "The full desktop app arrives in the next release; meanwhile the custodian command line does everything:",
        command: "custodian status",
      };
  }
}
