// The one typed module that wraps every Tauri `invoke`. Components call
// these functions, never `invoke` directly. Names follow docs/DESIGN.md's words;
// shapes follow what custodian-core serialises (snake_case fields).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { open as openDialog, save as saveDialog } from "@tauri-apps/plugin-dialog";

// ---------------------------------------------------------------- errors

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

/** The message to show for anything a command threw. */
export function errorMessage(e: unknown): string {
  return isAppError(e) ? e.message : String(e);
}

// ---------------------------------------------------------------- session

/** What is at the vault location. `unlocked` when this window holds it open. */
export type VaultState = "missing" | "not_a_vault" | "locked" | "unlocked";

export interface VaultStatus {
  path: string;
  state: VaultState;
  id?: string;
  format_version?: number;
  /** The pod id (the signing key's RFC 7638 thumbprint); only while unlocked. */
  pod_id?: string;
}

export function vaultStatus(): Promise<VaultStatus> {
  return invoke<VaultStatus>("vault_status");
}

/** Creates the vault and leaves it unlocked; the recovery key is returned once. */
export function createVault(passphrase: string): Promise<{ recovery_key: string }> {
  return invoke("create_vault", { passphrase });
}

/** Unlocks with the passphrase; `wrong_passphrase` when it is not the one. */
export function unlock(passphrase: string): Promise<void> {
  return invoke("unlock", { passphrase });
}

/** Unlocks with the recovery key and sets a new passphrase. */
export function recover(recoveryKey: string, newPassphrase: string): Promise<void> {
  return invoke("recover", { recoveryKey, newPassphrase });
}

/** Locks now: key material is dropped and sharing answers 503 until unlock. */
export function lock(): Promise<void> {
  return invoke("lock_vault");
}

/** Tells the auto-lock timer the person is active. */
export function touch(): Promise<void> {
  return invoke("touch");
}

export function changePassphrase(current: string, next: string): Promise<void> {
  return invoke("change_passphrase", { current, next });
}

/** Writes the recovery key to a file only the user can read. */
export function saveRecoveryKey(path: string, recoveryKey: string): Promise<void> {
  return invoke("save_recovery_key", { path, recoveryKey });
}

export interface Settings {
  /** Minutes of inactivity before the vault locks itself; 0 = never. */
  auto_lock_minutes: number;
  /** Loopback port the pod API listens on when sharing is on. */
  sharing_port: number;
}

export function getSettings(): Promise<Settings> {
  return invoke("get_settings");
}

export function saveSettings(settings: Settings): Promise<Settings> {
  return invoke("save_settings", { settings });
}

// ---------------------------------------------------------------- data

export type Category =
  | "profile"
  | "contact"
  | "address"
  | "preferences"
  | "interests"
  | "purchases"
  | "finance"
  | "health"
  | "location"
  | "documents"
  | "other";

export const CATEGORIES: Category[] = [
  "profile",
  "contact",
  "address",
  "preferences",
  "interests",
  "purchases",
  "finance",
  "health",
  "location",
  "documents",
  "other",
];

export const SENSITIVE_CATEGORIES: Category[] = ["health", "finance", "location"];

export interface ResourceMeta {
  path: string;
  version: number;
  content_type: string;
  category: Category;
  sensitivity: "normal" | "sensitive";
  etag: string;
  size: number;
  created_at: string;
  updated_at: string;
  /** `owner` or `client:cli_…`. */
  author: string;
}

export type ListEntry =
  /** `members`: the live resources under it, at any depth. */
  | { kind: "container"; path: string; members?: number }
  | ({ kind: "resource" } & ResourceMeta);

/** One page of a container's members. */
export interface ListPage {
  entries: ListEntry[];
  /** The `after` of the next page; null on the last page. */
  next: string | null;
}

/** What a search found: the first matches, and whether more match. */
export interface SearchResults {
  results: ResourceMeta[];
  more: boolean;
}

export interface ResourceView {
  meta: ResourceMeta;
  /** The content as text when it is UTF-8; null for binary content and content too large to show. */
  text: string | null;
  /** The content is too large to show (it was not read): offer "Save a copy…" instead. */
  too_large_to_show: boolean;
}

export interface VersionInfo {
  version: number;
  deleted: boolean;
  content_type: string;
  category: Category;
  etag: string;
  size: number;
  written_at: string;
  author: string;
}

/**
 * A page of the direct members of a container (a path ending in `/`): at most
 * `limit` after the path `after` (the `next` of the page before).
 */
export function listContainer(path: string, after: string | null = null, limit: number | null = null): Promise<ListPage> {
  return invoke("list_container", { path, after, limit });
}

/** Live resources whose path contains `query` (case-insensitive): at most `limit`, and whether more match. */
export function searchResources(query: string, limit = 200): Promise<SearchResults> {
  return invoke("search_resources", { query, limit });
}

export function getResource(path: string, version?: number): Promise<ResourceView> {
  return invoke("get_resource", { path, version: version ?? null });
}

/** Writes text content (JSON is validated by the core); keeps the old version in history. */
export function putResource(
  path: string,
  content: string,
  contentType = "application/json",
  category?: Category,
): Promise<ResourceMeta> {
  return invoke("put_resource", { path, content, contentType, category: category ?? null });
}

/** Progress of a file going in (`import`) or out (`save`), sent as `file-progress` events. */
export interface FileProgress {
  path: string;
  direction: "import" | "save";
  bytes_done: number;
  bytes_total: number;
}

/**
 * Stores the file at `file` (a full path on this computer) as the resource at `path`, streamed from disk:
 * any size up to the vault's maximum; progress comes as `file-progress` events.
 */
export function importFileFromPath(
  path: string,
  file: string,
  contentType: string,
  category?: Category,
): Promise<ResourceMeta> {
  return invoke("import_file_from_path", { path, file, contentType, category: category ?? null });
}

/**
 * Writes the resource (its live version, or `version`) to `file`, streamed; the file appears only once complete.
 * An existing file is replaced only with `replace` (after a save dialog asked).
 */
export function saveResourceTo(path: string, file: string, version?: number, replace = false): Promise<ResourceMeta> {
  return invoke("save_resource_to", { path, version: version ?? null, file, replace });
}

export function onFileProgress(handler: (p: FileProgress) => void): Promise<UnlistenFn> {
  return listen<FileProgress>("file-progress", (e) => handler(e.payload));
}

/** The native open dialog: a file's full path, or null when cancelled. */
export async function pickFileToOpen(title: string): Promise<string | null> {
  const picked = await openDialog({ title, multiple: false, directory: false });
  return typeof picked === "string" ? picked : null;
}

/** The native save dialog (it asks before replacing a file): a full path, or null when cancelled. */
export async function pickFileToSave(title: string, defaultPath: string): Promise<string | null> {
  return (await saveDialog({ title, defaultPath })) ?? null;
}

/** Marks a resource sensitive, or lowers its mark (logged); the content stays. */
export function setSensitive(path: string, sensitive: boolean): Promise<ResourceMeta> {
  return invoke("set_sensitive", { path, sensitive });
}

export function deleteResource(path: string): Promise<void> {
  return invoke("delete_resource", { path });
}

export function resourceHistory(path: string): Promise<VersionInfo[]> {
  return invoke("resource_history", { path });
}

/** Makes an old version the live one again (as a new version). */
export function restoreVersion(path: string, version: number): Promise<ResourceMeta> {
  return invoke("restore_version", { path, version });
}

// ---------------------------------------------------------------- preferences

export type Personalisation = "none" | "light" | "full";
export type Period = "day" | "week" | "month";

export interface CommunicationPreferences {
  channels: { email: boolean; sms: boolean; phone: boolean; post: boolean; push: boolean };
  /** `start`/`end` as "HH:MM"; `time_zone` an IANA name. */
  quiet_hours: { start: string; end: string; time_zone: string } | null;
  frequency_cap: { max: number; per: Period } | null;
  topics: string[];
  personalisation: Personalisation;
  do_not_sell: boolean;
}

/** The saved preferences, or the defaults (`saved: false`) before the first save. */
export function getPreferences(): Promise<{ preferences: CommunicationPreferences; saved: boolean }> {
  return invoke("get_preferences");
}

/** Saves to /preferences/communication; the core validates every field. */
export function savePreferences(preferences: CommunicationPreferences): Promise<void> {
  return invoke("save_preferences", { preferences });
}

/** Every IANA time-zone name the core accepts. */
export function timeZones(): Promise<string[]> {
  return invoke("time_zones");
}

// ---------------------------------------------------------------- sharing

export interface SharingStatus {
  on: boolean;
  port: number;
  /** `http://127.0.0.1:PORT` while on. */
  address: string | null;
  /** Why sharing could not start, if it could not. */
  error: string | null;
}

export function sharingStatus(): Promise<SharingStatus> {
  return invoke("sharing_status");
}

/** Starts the pod API on loopback at the settings' port (or `port`). */
export function startSharing(port?: number): Promise<SharingStatus> {
  return invoke("start_sharing", { port: port ?? null });
}

export function stopSharing(): Promise<SharingStatus> {
  return invoke("stop_sharing");
}

/** The `custodian:` link the desktop handed over and the window has not taken yet (taking clears it). */
export function takeLink(): Promise<string | null> {
  return invoke("take_link");
}

// ---------------------------------------------------------------- requests and grants

export type Action = "read" | "append" | "write";

export interface PodAccess {
  type: "pod_access";
  paths: string[];
  actions: Action[];
  datatypes?: Category[];
  sensitive?: Category[];
  purpose: string;
}

export interface AskedItem {
  path: string;
  actions: Action[];
  /** Empty = any category. */
  datatypes: Category[];
  purposes: string[];
}

/** A company that connected by its link: its domain was checked (HTTPS, signed request). */
export interface LinkedCompany {
  /** The host (and port, when not 443) of its client id. */
  domain: string;
  verified: boolean;
  logo_uri: string | null;
  policy_uri: string | null;
  client_uri: string | null;
  delivery_uri: string;
}

export interface AccessRequest {
  id: string;
  client_id: string;
  client_name: string;
  /** Set for a company that connected by its link; absent or null for a device-flow program (unverified). */
  company?: LinkedCompany | null;
  details: PodAccess[];
  /** The details as the person is shown them, made by the core: each asked
   * path once with what was asked beside it. Keeping an item grants exactly that. */
  items: AskedItem[];
  /** Seconds the company asked for. */
  grant_lifetime: number;
  user_code: string;
  status: "pending" | "approved" | "completed" | "denied" | "expired" | "damaged";
  created_at: string;
  expires_at: string;
  decided_at: string | null;
  grant_id: string | null;
  /** Sensitive categories the request would reach: each must be ticked to be granted. */
  sensitive_asked: Category[];
}

export interface Approval {
  /** Paths to grant, a subset of those asked; empty = all asked. */
  only: string[];
  /** Seconds, at most what was asked; null = as asked. */
  lifetime_secs: number | null;
  /** Sensitive categories ticked one by one. */
  sensitive: Category[];
}

export interface Grant {
  id: string;
  client_id: string;
  client_name: string;
  request_id: string | null;
  details: PodAccess[];
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  status: "active" | "expired" | "revoked" | "damaged";
  /** Why a damaged grant's record could not be read (it allows nothing). */
  damage?: string;
  /** Set for a company that connected by its link (its domain verified). */
  company?: LinkedCompany | null;
}

/**
 * Fetches and checks a company's request from its `custodian://connect?…`
 * link or its `https://…` request address; the request then waits like any other.
 */
export function connectCompany(link: string): Promise<AccessRequest> {
  return invoke("connect_company", { link });
}

/** One delivery to a linked company (pod → company), as queued and tried. */
export interface DeliveryStatus {
  id: string;
  client_id: string;
  request_id: string;
  grant_id: string | null;
  /** Its place in the request's sequence (1, 2, 3…). */
  seq: number;
  event: "granted" | "denied" | "updated" | "revoked" | "expired" | string;
  status: "queued" | "delivered" | "failed" | "moot" | string;
  attempts: number;
  created_at: string;
  /** When it is next tried (queued ones). */
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_error: string | null;
  last_status: number | null;
  delivered_at: string | null;
}

/** Deliveries to linked companies, of one grant or all, in queue order. */
export function deliveries(grant?: string): Promise<DeliveryStatus[]> {
  return invoke("deliveries", { grant: grant ?? null });
}

/** "Send now": makes a grant's queued and failed deliveries due at once; returns how many. */
export function sendNow(id: string): Promise<number> {
  return invoke("send_now", { id });
}

/** A linked company's logo as a data: URL (fetched under the same network rules), or null. */
export function companyLogo(clientId: string): Promise<string | null> {
  return invoke("company_logo", { clientId });
}

/** Requests waiting for an answer. */
export function pendingRequests(): Promise<AccessRequest[]> {
  return invoke("pending_requests");
}

export function approveRequest(id: string, approval: Approval): Promise<Grant> {
  return invoke("approve_request", { id, approval });
}

export function denyRequest(id: string): Promise<void> {
  return invoke("deny_request", { id });
}

/** Every grant: active first, then expired and revoked as history. */
export function listGrants(): Promise<Grant[]> {
  return invoke("list_grants");
}

export function revokeGrant(id: string): Promise<Grant> {
  return invoke("revoke_grant", { id });
}

/** Revokes every grant a company holds; returns how many. */
export function revokeClient(clientId: string): Promise<number> {
  return invoke("revoke_client", { clientId });
}

// ---------------------------------------------------------------- activity

export interface AuditEntry {
  seq: number;
  at: string;
  /** `owner` or the company's client id. */
  actor: string;
  client_id: string | null;
  action: string;
  method: string | null;
  path: string | null;
  outcome: "allowed" | "denied";
  reason: string | null;
  grant_id: string | null;
  hash: string;
}

export interface LogQuery {
  client_id?: string | null;
  /** Only entries from the last this many seconds. */
  since_secs?: number | null;
  outcome?: "allowed" | "denied" | null;
  limit?: number | null;
}

export interface CompanyReport {
  client_id: string;
  client_name: string;
  grants_active: number;
  grants_total: number;
  allowed: number;
  denied: number;
  distinct_resources_read: number;
  top_resources: { path: string; reads: number }[];
  reads_by_day: { day: string; reads: number }[];
  last_request_at: string | null;
}

export interface AccessReport {
  since: string | null;
  until: string;
  companies: CompanyReport[];
  unidentified_denied: number;
}

/** Newest first. */
export function accessLog(query: LogQuery): Promise<AuditEntry[]> {
  return invoke("access_log", { query });
}

export function accessReport(sinceSecs?: number): Promise<AccessReport> {
  return invoke("access_report", { sinceSecs: sinceSecs ?? null });
}

/** The log's hash chain: `first_broken` names the first bad entry. */
export interface ChainReport {
  entries: number;
  first_broken: number | null;
  /** When old entries were removed by retention: the checkpoint standing for them. */
  checkpoint?: { through: number; entry: number };
}

/** The counts `ls` and `status` show, against a fresh count (rebuilt when one differed). */
export interface CountsCheck {
  differing: number;
  differences: { counted: unknown; stored: number; scanned: number }[];
  repaired: boolean;
}

/**
 * The whole vault's check: `pages` lists the database pages that fail their
 * authentication (then `log` and `counts` are null: the check stopped), the
 * log's chain, and the kept counts.
 */
export interface VaultCheck {
  pages: string[];
  log: ChainReport | null;
  counts: CountsCheck | null;
}

/** Checks every page of the vault, the log's chain and the kept counts (repairing the counts). */
export function checkVault(): Promise<VaultCheck> {
  return invoke("check_vault");
}

// ---------------------------------------------------------------- receipts

/** The decision a receipt records. */
export type ReceiptEvent =
  | "given"
  | "given_narrower"
  | "refused"
  | "withdrawn"
  | "ended"
  | "expired"
  | "cut_off";

/** A signed consent receipt with its claims decoded (not verified) for display. */
export interface Receipt {
  id: string;
  client_id: string;
  grant_id: string | null;
  request_id: string | null;
  event: ReceiptEvent;
  issued_at: string;
  /** The receipt itself: a compact JWS signed by this vault's key. */
  jws: string;
  /** The JWS payload, decoded (not verified); null when the stored JWS does not decode. */
  claims: Record<string, unknown> | null;
}

/** A receipt as the Receipt view shows it, with whether this vault vouches for it. */
export interface ReceiptView {
  receipt: Receipt;
  verification: ReceiptVerification;
}

export interface ReceiptVerification {
  /** Signed by this vault's key, and its log head is in this vault's log. */
  verified: boolean;
  /** What was checked, or exactly what fails. */
  message: string;
}

/** At most one of the three; none = every receipt. */
export interface ReceiptQuery {
  client_id?: string | null;
  grant_id?: string | null;
  request_id?: string | null;
}

/** Newest first. */
export function listReceipts(query: ReceiptQuery = {}): Promise<Receipt[]> {
  return invoke("list_receipts", { query });
}

export function openReceipt(id: string): Promise<ReceiptView> {
  return invoke("open_receipt", { id });
}

/** `~/Documents/custodian-receipt-ID.jws` (or the home folder). */
export function defaultReceiptPath(id: string): Promise<string> {
  return invoke("default_receipt_path", { id });
}

/** Writes the receipt's compact JWS to `out` (never replacing a file); returns the path. */
/** `replace`: the person confirmed replacing an existing file (in the save dialog). */
export function saveReceipt(id: string, out: string, replace = false): Promise<string> {
  return invoke("save_receipt", { id, out, replace });
}

// ---------------------------------------------------------------- export and import

export type BundlePhase = "hashing" | "writing" | "verifying" | "staging" | "restoring";

export interface BundleProgress {
  phase: BundlePhase;
  items_done: number;
  items_total: number;
  bytes_done: number;
  bytes_total: number;
}

export interface ExportSummary {
  path: string;
  counts: Record<string, number>;
  entries: number;
  plain_bytes: number;
  file_bytes: number;
}

export interface MergeReport {
  added: string[];
  unchanged: number;
  conflicts: { path: string; reason: string }[];
  clients_added: number;
  requests_added: number;
  grants_added: number;
  log_entries_not_merged: number;
  receipts_added: number;
  /** Companies that connected by a link, and their signed requests. */
  linked_clients_added: number;
  linked_requests_added: number;
  /** Deliveries still owed to companies, and the feeds' state. */
  deliveries_added: number;
  feed_cursors_added: number;
  feed_items_seen_added: number;
}

/** Seal with a passphrase or an `age1…` recipient (exactly one). */
export type Seal = { passphrase: string } | { recipient: string };
/** Open with the bundle's passphrase or an age identity (`AGE-SECRET-KEY-1…` text). */
export type Opener = { passphrase: string } | { identity: string };

/** `~/custodian-YYYY-MM-DD.custodian.age` (or the documents folder). */
export function defaultExportPath(): Promise<string> {
  return invoke("default_export_path");
}

/** Writes the bundle; progress arrives as `bundle-progress` events. */
/** `replace`: the person confirmed replacing an existing file (in the save dialog). */
export function exportBundle(out: string, seal: Seal, replace = false): Promise<ExportSummary> {
  return invoke("export_bundle", { out, seal, replace });
}

/** Merges a bundle into this vault: adds what is missing, never overwrites. */
export function importBundle(file: string, opener: Opener): Promise<MergeReport> {
  return invoke("import_bundle", { file, opener });
}

/**
 * First run on a new machine: restores a bundle into a new vault here with a
 * new passphrase, and leaves it unlocked; the new recovery key is returned once.
 */
export function restoreBundle(
  file: string,
  opener: Opener,
  passphrase: string,
): Promise<{ recovery_key: string; resources: number }> {
  return invoke("restore_bundle", { file, opener, passphrase });
}

// ---------------------------------------------------------------- events

/** The vault was locked; `why` is e.g. "by you" or "after 10 minutes idle". */
export function onLocked(handler: (why: string) => void): Promise<UnlistenFn> {
  return listen<string>("vault-locked", (e) => handler(e.payload));
}

/** The pending requests changed; the payload is how many are pending. */
export function onRequestsChanged(handler: (pending: number) => void): Promise<UnlistenFn> {
  return listen<number>("requests-changed", (e) => handler(e.payload));
}

/** A `custodian:` link arrived (take it with `takeLink`). */
export function onConnectLink(handler: () => void): Promise<UnlistenFn> {
  return listen<null>("connect-link", () => handler());
}

/** Deliveries were tried (sent, failed or queued anew). */
export function onDeliveriesChanged(handler: () => void): Promise<UnlistenFn> {
  return listen<null>("deliveries-changed", () => handler());
}

export function onBundleProgress(handler: (p: BundleProgress) => void): Promise<UnlistenFn> {
  return listen<BundleProgress>("bundle-progress", (e) => handler(e.payload));
}

/**
 * Hands progress to `update` while `running()` says this form's work is on;
 * returns the stop function (for `onMount`'s clean-up).
 */
export function followBundleProgress(running: () => boolean, update: (p: BundleProgress) => void): () => void {
  const unlisten = onBundleProgress((p) => {
    if (running()) update(p);
  });
  return () => {
    unlisten.then((stop) => stop()).catch(() => {});
  };
}
