// Sharing → "Connect a company": what the form shows while a company's link
// or request address is being fetched. The rules (https only, same host,
// signatures…) are the core's; this only reads the address to name the host.

/** A link or address as typed or pasted, ready to send, or why not. */
export type ConnectInput = { ok: true; link: string; host: string | null } | { ok: false; message: string };

/** The host a `custodian://connect?…` link or a bare `https://…` address points at, if readable. */
export function linkHost(link: string): string | null {
  let target = link;
  if (/^custodian:/i.test(link)) {
    const query = link.slice(link.indexOf("?") + 1);
    if (!link.includes("?")) return null;
    target = new URLSearchParams(query).get("request_uri") ?? "";
  }
  try {
    const url = new URL(target);
    return url.protocol === "https:" && url.host ? url.host : null;
  } catch {
    return null;
  }
}

/** Reads the field: trimmed, one line, not empty. */
export function readConnectInput(text: string): ConnectInput {
  const link = text.trim();
  if (!link) return { ok: false, message: "Paste the link or request address the company gave you." };
  if (/\s/.test(link)) return { ok: false, message: "A link has no spaces or line breaks: paste just the link." };
  return { ok: true, link, host: linkHost(link) };
}

/** What the form says while fetching. */
export function fetchingText(host: string | null): string {
  return host ? `Fetching the request from ${host}…` : "Fetching the company's request…";
}
