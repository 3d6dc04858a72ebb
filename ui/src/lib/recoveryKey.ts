// The recovery key's type-back check: before leaving the "save your recovery
// key" step the person types its last few characters, proving they have it
// somewhere they can read it from.

/** How many characters of the key's end the person types back. */
export const TYPE_BACK_CHARS = 6;

/** The file name offered for "Save to file". */
export const DEFAULT_RECOVERY_FILE = "custodian-recovery-key.txt";

/**
 * A file named `name` in the folder of `path` (any path the app suggested,
 * such as the default export path), using the same separator. The app
 * wants a full path for the recovery key file.
 */
export function siblingPath(path: string, name: string): string {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (cut < 0) return name;
  return path.slice(0, cut + 1) + name;
}

/** The characters the person has to type back (the key's last few). */
export function typeBackTarget(key: string): string {
  return [...key.trim()].slice(-TYPE_BACK_CHARS).join("");
}

/** Whether `typed` is the key's last characters: case-insensitive, surrounding spaces ignored. */
export function typeBackMatches(key: string, typed: string): boolean {
  const target = typeBackTarget(key);
  return target.length === TYPE_BACK_CHARS && typed.trim().toUpperCase() === target.toUpperCase();
}

/** Splits the key into groups for reading aloud or copying by hand. */
export function keyGroups(key: string, size = 4): string[] {
  const chars = [...key.trim()];
  const groups: string[] = [];
  for (let i = 0; i < chars.length; i += size) groups.push(chars.slice(i, i + size).join(""));
  return groups;
}
