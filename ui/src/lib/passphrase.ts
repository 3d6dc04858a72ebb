// Passphrase feedback for the forms that set one. Only a hint: the core's
// `check_new_passphrase` (src-tauri/crates/core/src/keys.rs) is the rule, and
// it refuses a passphrase that is blank or shorter than 8 characters.

/** Mirrors `MIN_PASSPHRASE_CHARS` in the core. */
export const MIN_PASSPHRASE_CHARS = 8;

export type StrengthScore = 0 | 1 | 2 | 3 | 4;

export interface Strength {
  /** 0 = the vault would refuse it; 4 = strong. */
  score: StrengthScore;
  label: string;
  hint: string;
}

/** Characters as the core counts them (Unicode scalar values, like Rust's `chars()`). */
export function charCount(text: string): number {
  return [...text].length;
}

/** Whether the core would accept this as a new passphrase (its rule, mirrored). */
export function meetsMinimum(passphrase: string): boolean {
  return passphrase.trim() !== "" && charCount(passphrase) >= MIN_PASSPHRASE_CHARS;
}

const COMMON = [
  "password",
  "passphrase",
  "passwort",
  "custodian",
  "qwerty",
  "azerty",
  "letmein",
  "iloveyou",
  "welcome",
  "admin",
  "monkey",
  "dragon",
  "sunshine",
  "football",
  "baseball",
  "princess",
  "123456",
  "abc123",
];

const SEQUENCES = ["abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiop", "asdfghjkl", "zxcvbnm"];

/** How many characters sit in runs of 3+ repeated or consecutive characters. */
function patternedChars(chars: string[]): number {
  const lower = chars.map((c) => c.toLowerCase());
  let patterned = 0;
  let run = 1;
  const isStep = (a: string, b: string) =>
    a === b || SEQUENCES.some((s) => s.includes(a + b) || s.includes(b + a));
  for (let i = 1; i <= lower.length; i++) {
    if (i < lower.length && isStep(lower[i - 1], lower[i])) {
      run++;
    } else {
      if (run >= 3) patterned += run - 1;
      run = 1;
    }
  }
  return patterned;
}

/** Rough bits of guessing work: character pool × length, less for patterns and common words. */
export function estimateBits(passphrase: string): number {
  const chars = [...passphrase];
  if (chars.length === 0) return 0;
  let pool = 0;
  if (/[a-z]/.test(passphrase)) pool += 26;
  if (/[A-Z]/.test(passphrase)) pool += 26;
  if (/[0-9]/.test(passphrase)) pool += 10;
  if (/[ ]/.test(passphrase)) pool += 1;
  if (/[!-/:-@[-`{-~]/.test(passphrase)) pool += 33;
  if (chars.some((c) => c.codePointAt(0)! > 127)) pool += 100;
  const distinct = new Set(chars.map((c) => c.toLowerCase())).size;
  let effective = Math.min(chars.length - patternedChars(chars), distinct * 3);
  const lower = passphrase.toLowerCase();
  for (const word of COMMON) {
    if (lower.includes(word)) effective -= word.length - 1;
  }
  return Math.max(0, effective) * Math.log2(Math.max(pool, 2));
}

/** A 0–4 estimate with a label and one hint, for the strength meter. */
export function estimateStrength(passphrase: string): Strength {
  if (passphrase.trim() === "") {
    return {
      score: 0,
      label: "Empty",
      hint: `Use at least ${MIN_PASSPHRASE_CHARS} characters. A few unrelated words work well.`,
    };
  }
  const count = charCount(passphrase);
  if (count < MIN_PASSPHRASE_CHARS) {
    const more = MIN_PASSPHRASE_CHARS - count;
    return {
      score: 0,
      label: "Too short",
      hint: `${more} more character${more === 1 ? "" : "s"} needed: the vault needs at least ${MIN_PASSPHRASE_CHARS}.`,
    };
  }
  const bits = estimateBits(passphrase);
  if (bits < 45) {
    return {
      score: 1,
      label: "Weak",
      hint: "Easy to guess. Add a few unrelated words, or avoid common words and patterns.",
    };
  }
  if (bits < 65) {
    return { score: 2, label: "Fair", hint: "Acceptable. Another word or two would make it much stronger." };
  }
  if (bits < 85) {
    return { score: 3, label: "Good", hint: "Good. Make sure you can remember it: only the recovery key can replace it." };
  }
  return { score: 4, label: "Strong", hint: "Strong. Make sure you can remember it." };
}

/**
 * What to say about a new passphrase and its confirmation before submitting,
 * or null when the core should accept it and the two match.
 */
export function newPassphraseProblem(passphrase: string, confirmation: string): string | null {
  if (!meetsMinimum(passphrase)) {
    return passphrase.trim() === ""
      ? "Choose a passphrase."
      : `The passphrase needs at least ${MIN_PASSPHRASE_CHARS} characters.`;
  }
  if (passphrase !== confirmation) return "The two passphrases do not match.";
  return null;
}

/** The mismatch note to show while typing the confirmation (not before). */
export function confirmationMismatch(passphrase: string, confirmation: string): boolean {
  return confirmation !== "" && passphrase !== confirmation;
}
