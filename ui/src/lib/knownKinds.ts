// The kinds of resource that get a form instead of the JSON editor: profile,
// contact and address. A form edits a few known fields of a JSON object and
// keeps every other field exactly as it was.
import type { Category } from "./api";

export type KnownKind = "profile" | "contact" | "address";

export interface FieldSpec {
  key: string;
  label: string;
  required: boolean;
  input: "text" | "email" | "tel" | "date" | "url";
  autocomplete: string;
}

export interface KindSpec {
  kind: KnownKind;
  title: string;
  category: Category;
  fields: FieldSpec[];
}

const field = (
  key: string,
  label: string,
  input: FieldSpec["input"],
  autocomplete: string,
  required = false,
): FieldSpec => ({ key, label, input, autocomplete, required });

export const KIND_SPECS: Record<KnownKind, KindSpec> = {
  profile: {
    kind: "profile",
    title: "Profile",
    category: "profile",
    fields: [
      field("name", "Name", "text", "name", true),
      field("nickname", "Nickname", "text", "nickname"),
      field("birthday", "Birthday", "date", "bday"),
      field("pronouns", "Pronouns", "text", "off"),
      field("language", "Preferred language", "text", "language"),
    ],
  },
  contact: {
    kind: "contact",
    title: "Contact",
    category: "contact",
    fields: [
      field("email", "Email", "email", "email"),
      field("phone", "Phone", "tel", "tel"),
      field("website", "Website", "url", "url"),
    ],
  },
  address: {
    kind: "address",
    title: "Address",
    category: "address",
    fields: [
      field("street", "Street and number", "text", "street-address", true),
      field("city", "City", "text", "address-level2", true),
      field("postcode", "Postcode", "text", "postal-code", true),
      field("country", "Country", "text", "country-name", true),
    ],
  },
};

/** The kind a path suggests: /profile/…, /contact/…, /address/… or /addresses/…. */
export function kindForPath(path: string): KnownKind | null {
  const first = path.split("/").filter(Boolean)[0];
  const rest = path.split("/").filter(Boolean).length > 1 && !path.endsWith("/");
  if (!rest) return null;
  if (first === "profile") return "profile";
  if (first === "contact") return "contact";
  if (first === "address" || first === "addresses") return "address";
  return null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The form that fits a resource, if any: the path must suggest a kind and the
 * content must be a JSON object (or empty) whose known fields are strings.
 */
export function kindFor(path: string, text: string | null): KnownKind | null {
  const kind = kindForPath(path);
  if (!kind || text === null) return null;
  if (text.trim() === "") return kind;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isPlainObject(value)) return null;
  const fits = KIND_SPECS[kind].fields.every((f) => value[f.key] === undefined || typeof value[f.key] === "string");
  return fits ? kind : null;
}

export type FormValues = Record<string, string>;

/** The form's values from the JSON text (empty strings for absent fields). */
export function formValues(kind: KnownKind, text: string): FormValues {
  const parsed: unknown = text.trim() ? JSON.parse(text) : {};
  const object = isPlainObject(parsed) ? parsed : {};
  const values: FormValues = {};
  for (const f of KIND_SPECS[kind].fields) {
    const v = object[f.key];
    values[f.key] = typeof v === "string" ? v : "";
  }
  return values;
}

/**
 * The JSON to save: the original object with the known fields replaced
 * (blank optional fields removed), every unknown field kept in place.
 */
export function formToJson(kind: KnownKind, values: FormValues, originalText: string): string {
  const parsed: unknown = originalText.trim() ? JSON.parse(originalText) : {};
  const result: Record<string, unknown> = isPlainObject(parsed) ? { ...parsed } : {};
  for (const f of KIND_SPECS[kind].fields) {
    const v = (values[f.key] ?? "").trim();
    if (v) result[f.key] = v;
    else delete result[f.key];
  }
  return JSON.stringify(result, null, 2);
}

export type FormErrors = Record<string, string>;

/** Help for typing mistakes; the form's own shape, not a rule about the data. */
export function validateForm(kind: KnownKind, values: FormValues): FormErrors {
  const errors: FormErrors = {};
  for (const f of KIND_SPECS[kind].fields) {
    const v = (values[f.key] ?? "").trim();
    if (!v) {
      if (f.required) errors[f.key] = `${f.label} is needed.`;
      continue;
    }
    if (f.input === "email" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) {
      errors[f.key] = "That does not look like an email address (name@example.org).";
    }
    if (f.input === "tel" && !/^\+?[\d\s().-]{3,}$/.test(v)) {
      errors[f.key] = "Use digits, spaces and an optional leading +.";
    }
    if (f.input === "date" && !isDate(v)) {
      errors[f.key] = "Use a date like 1990-04-23.";
    }
    if (f.input === "url" && !/^https?:\/\/\S+$/.test(v)) {
      errors[f.key] = "Start the address with https://.";
    }
  }
  return errors;
}

function isDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}
