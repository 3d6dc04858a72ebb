// Files in and out by path (the native open and save dialogs, or a typed
// path): what the window suggests and how it tells progress. The bytes never
// pass through the window; the commands stream them between disk and vault.
import type { FileProgress } from "./api";

const IEC = ["KiB", "MiB", "GiB", "TiB"];

/** Sizes in binary units, as "512 MiB" or "2.0 GiB". */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = "B";
  for (const u of IEC) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  const shown = value < 10 ? value.toFixed(1) : String(Math.round(value));
  return `${shown} ${unit}`;
}

/** "stored 512 MiB of 2.0 GiB" (import) or "saved 1.0 GiB of 2.0 GiB" (save). */
export function progressText(p: FileProgress): string {
  const verb = p.direction === "import" ? "stored" : "saved";
  return `${verb} ${formatSize(p.bytes_done)} of ${formatSize(p.bytes_total)}`;
}

/** The file name at the end of a path on this computer (either slash). */
export function baseName(filePath: string): string {
  const parts = filePath.trim().split(/[/\\]/);
  return parts[parts.length - 1] ?? "";
}

/** Where a picked file is suggested to go: `/documents/NAME` (a name with no path characters). */
export function suggestedPodPath(filePath: string, container = "/documents/"): string {
  const name = baseName(filePath).replace(/[#?%]/g, "-");
  return name ? `${container}${name}` : "";
}

/** The name a saved copy is suggested to have: the resource's last segment. */
export function suggestedFileName(podPath: string): string {
  const last = podPath.split("/").filter(Boolean).pop() ?? "resource";
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

const TYPES: Record<string, string> = {
  pdf: "application/pdf",
  json: "application/json",
  txt: "text/plain",
  csv: "text/csv",
  md: "text/markdown",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  mp4: "video/mp4",
  mov: "video/quicktime",
  mp3: "audio/mpeg",
  zip: "application/zip",
};

/** A content type from a file's extension; arbitrary bytes when unknown. */
export function contentTypeFor(filePath: string): string {
  const name = baseName(filePath).toLowerCase();
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return "application/octet-stream";
  return TYPES[name.slice(dot + 1)] ?? "application/octet-stream";
}

/** A typed path must be a full one (the commands refuse a relative path). */
export function checkLocalPath(text: string, what: string): string | null {
  const p = text.trim();
  if (!p) return `Choose the ${what}.`;
  if (!p.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(p)) return `Give the full path of the ${what}, e.g. /home/you/scan.pdf.`;
  return null;
}
