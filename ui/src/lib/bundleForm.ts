// The export and import forms' choices turned into what the core expects,
// and the command that opens a bundle without Custodian.
import type { Opener, Seal } from "./api";

export type SealMode = "passphrase" | "recipient";
export type OpenerMode = "passphrase" | "identity";

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

export function sealFrom(mode: SealMode, passphrase: string, confirm: string, recipient: string): Checked<Seal> {
  if (mode === "recipient") {
    const r = recipient.trim();
    if (!r) return { ok: false, message: "Paste the age recipient (it starts with age1)." };
    if (!r.startsWith("age1")) return { ok: false, message: "An age recipient starts with age1." };
    return { ok: true, value: { recipient: r } };
  }
  if (!passphrase) return { ok: false, message: "Choose a passphrase for the bundle." };
  if (passphrase !== confirm) return { ok: false, message: "The two passphrases differ." };
  return { ok: true, value: { passphrase } };
}

export function openerFrom(mode: OpenerMode, passphrase: string, identity: string): Checked<Opener> {
  if (mode === "identity") {
    const id = identity.trim();
    if (!id) return { ok: false, message: "Paste the age identity (AGE-SECRET-KEY-1…)." };
    return { ok: true, value: { identity: id } };
  }
  if (!passphrase) return { ok: false, message: "Type the bundle's passphrase." };
  return { ok: true, value: { passphrase } };
}

/** The bundle file to open and how (the import and restore forms). */
export function bundleToOpen(
  path: string,
  mode: OpenerMode,
  passphrase: string,
  identity: string,
): Checked<{ path: string; opener: Opener }> {
  const file = path.trim();
  if (!file) return { ok: false, message: "Type the path of the bundle file." };
  const opener = openerFrom(mode, passphrase, identity);
  if (!opener.ok) return opener;
  return { ok: true, value: { path: file, opener: opener.value } };
}

/** A path quoted for a POSIX shell when it needs it. */
export function shellQuote(path: string): string {
  return /^[\w@%+=:,./~-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

/** How to open the bundle with the standard tools. */
export function openCommand(path: string, mode: SealMode): string {
  const identity = mode === "recipient" ? "-i YOUR-KEY-FILE " : "";
  return `age -d ${identity}${shellQuote(path)} | tar x`;
}
