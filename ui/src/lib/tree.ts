// The "My data" tree: nodes built lazily from listContainer pages, merged
// as containers are opened and further pages are asked for ("Show more"),
// flattened into rows for display and keyboard navigation, and built from
// search results.
import type { ListEntry, ListPage, ResourceMeta } from "./api";

export interface TreeNode {
  /** Full path; containers end in `/`. */
  path: string;
  kind: "container" | "resource";
  /** Member count for containers (as listed), when known. */
  members?: number;
  meta?: ResourceMeta;
  /** null = not loaded yet (containers only). */
  children: TreeNode[] | null;
  expanded: boolean;
  /** Containers: the `after` of the next page when the vault holds more members than are loaded. */
  next?: string | null;
}

export interface TreeRow {
  node: TreeNode;
  depth: number;
  parent: string | null;
  /** Set on a "show more" row: `node` has members not loaded yet. */
  more?: true;
}

/** Members asked for at a time: a container of 100,000 stays quick and light. */
export const PAGE = 200;

/** Most members one page may hold (the vault's LIST_MAX). */
export const MAX_PAGE = 5000;

/** The last segment of a path, without the trailing slash: "/contact/" → "contact". */
export function nodeName(path: string): string {
  if (path === "/") return "/";
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** The container a path lives in: "/contact/email" → "/contact/", "/contact/" → "/". */
export function parentPath(path: string): string | null {
  if (path === "/") return null;
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  return trimmed.slice(0, trimmed.lastIndexOf("/") + 1);
}

export function emptyRoot(): TreeNode {
  return { path: "/", kind: "container", children: null, expanded: true };
}

function sortNodes(nodes: TreeNode[]): TreeNode[] {
  return nodes.sort((a, b) =>
    a.kind !== b.kind ? (a.kind === "container" ? -1 : 1) : a.path.localeCompare(b.path),
  );
}

/** Nodes for a container's members, in the vault's order (by path, as it pages them). */
export function entriesToNodes(entries: readonly ListEntry[]): TreeNode[] {
  return entries.map((e): TreeNode => {
    if (e.kind === "container") {
      return { path: e.path, kind: "container", members: e.members, children: null, expanded: false };
    }
    const { kind: _kind, ...meta } = e;
    return { path: e.path, kind: "resource", meta, children: null, expanded: false };
  });
}

/** Keeps an already loaded sub-container's children and open state in its fresh node. */
function keepLoaded(old: ReadonlyMap<string, TreeNode>, fresh: TreeNode): TreeNode {
  const before = old.get(fresh.path);
  return before && before.kind === "container" && fresh.kind === "container"
    ? { ...fresh, children: before.children, expanded: before.expanded, next: before.next }
    : fresh;
}

/**
 * A new tree where `containerPath`'s children are the page's entries (its first
 * page, or as many as were loaded before, listed again), opened.
 * Sub-containers that were already loaded keep their children and open state.
 */
export function mergeChildren(root: TreeNode, containerPath: string, page: ListPage): TreeNode {
  return mapNode(root, containerPath, (node) => {
    const old = new Map((node.children ?? []).map((c) => [c.path, c]));
    const children = entriesToNodes(page.entries).map((fresh) => keepLoaded(old, fresh));
    return { ...node, children, next: page.next, expanded: true };
  });
}

/** A new tree with the next page of `containerPath`'s members added after those loaded. */
export function appendPage(root: TreeNode, containerPath: string, page: ListPage): TreeNode {
  return mapNode(root, containerPath, (node) => {
    const loaded = node.children ?? [];
    const old = new Map(loaded.map((c) => [c.path, c]));
    const added = entriesToNodes(page.entries).filter((n) => !old.has(n.path));
    return { ...node, children: [...loaded, ...added], next: page.next, expanded: true };
  });
}

/** How many members to ask for when listing a container again: as many as are loaded, at least a page. */
export function reloadLimit(node: TreeNode | null): number {
  return Math.min(MAX_PAGE, Math.max(PAGE, node?.children?.length ?? 0));
}

/** A new tree with the node at `path` replaced by `fn(node)`; unchanged if absent. */
export function mapNode(root: TreeNode, path: string, fn: (n: TreeNode) => TreeNode): TreeNode {
  if (root.path === path) return fn(root);
  if (!root.children || !path.startsWith(root.path)) return root;
  let changed = false;
  const children = root.children.map((c) => {
    const next = mapNode(c, path, fn);
    if (next !== c) changed = true;
    return next;
  });
  return changed ? { ...root, children } : root;
}

export function setExpanded(root: TreeNode, path: string, expanded: boolean): TreeNode {
  return mapNode(root, path, (n) => ({ ...n, expanded }));
}

export function findNode(root: TreeNode, path: string): TreeNode | null {
  if (root.path === path) return root;
  if (!root.children || !path.startsWith(root.path)) return null;
  for (const c of root.children) {
    const found = findNode(c, path);
    if (found) return found;
  }
  return null;
}

/**
 * The rows a person sees: the root's members, and the members of every open
 * container; after a container with more members in the vault than are
 * loaded comes a "show more" row.
 */
export function visibleRows(root: TreeNode): TreeRow[] {
  const rows: TreeRow[] = [];
  const walk = (node: TreeNode, depth: number) => {
    for (const child of node.children ?? []) {
      rows.push({ node: child, depth, parent: node.path === "/" ? null : node.path });
      if (child.kind === "container" && child.expanded) walk(child, depth + 1);
    }
    if (node.next) rows.push({ node, depth, parent: node.path === "/" ? null : node.path, more: true });
  };
  walk(root, 1);
  return rows;
}

/** A fully open tree holding the given resources and the containers above them. */
export function treeFromResources(metas: readonly ResourceMeta[]): TreeNode {
  const root: TreeNode = { path: "/", kind: "container", children: [], expanded: true };
  for (const meta of metas) {
    let node = root;
    const segments = meta.path.split("/").filter(Boolean);
    let prefix = "/";
    for (const segment of segments.slice(0, -1)) {
      prefix += `${segment}/`;
      let next = node.children!.find((c) => c.path === prefix);
      if (!next) {
        next = { path: prefix, kind: "container", children: [], expanded: true };
        node.children!.push(next);
      }
      node = next;
    }
    if (!node.children!.some((c) => c.path === meta.path)) {
      node.children!.push({ path: meta.path, kind: "resource", meta, children: null, expanded: false });
    }
  }
  const sortAll = (n: TreeNode) => {
    if (n.children) {
      sortNodes(n.children);
      n.children.forEach(sortAll);
    }
  };
  sortAll(root);
  return root;
}

/** The loaded part of a tree narrowed to paths containing `query` (case-insensitive), opened. */
export function filterTree(root: TreeNode, query: string): TreeNode {
  const q = query.trim().toLowerCase();
  if (!q) return root;
  const keep = (node: TreeNode): TreeNode | null => {
    const selfMatches = node.path.toLowerCase().includes(q);
    if (node.kind === "resource") return selfMatches ? node : null;
    const children = (node.children ?? []).map(keep).filter((c): c is TreeNode => c !== null);
    if (children.length) return { ...node, children, expanded: true };
    return selfMatches ? { ...node, children: node.children, expanded: false } : null;
  };
  return { ...root, children: (root.children ?? []).map(keep).filter((c): c is TreeNode => c !== null) };
}

export type TreeKeyAction =
  | { type: "focus"; path: string }
  | { type: "expand"; path: string }
  | { type: "collapse"; path: string }
  | { type: "open"; path: string };

/** What a key does on the row at `path` (the WAI-ARIA tree pattern). */
export function treeKeyAction(rows: readonly TreeRow[], path: string, key: string): TreeKeyAction | null {
  const index = rows.findIndex((r) => r.node.path === path);
  if (index < 0) return rows.length ? { type: "focus", path: rows[0].node.path } : null;
  const row = rows[index];
  const isContainer = row.node.kind === "container";
  switch (key) {
    case "ArrowDown":
      return index + 1 < rows.length ? { type: "focus", path: rows[index + 1].node.path } : null;
    case "ArrowUp":
      return index > 0 ? { type: "focus", path: rows[index - 1].node.path } : null;
    case "Home":
      return { type: "focus", path: rows[0].node.path };
    case "End":
      return { type: "focus", path: rows[rows.length - 1].node.path };
    case "ArrowRight":
      if (!isContainer) return null;
      if (!row.node.expanded) return { type: "expand", path };
      return row.node.children?.length ? { type: "focus", path: row.node.children[0].path } : null;
    case "ArrowLeft":
      if (isContainer && row.node.expanded) return { type: "collapse", path };
      return row.parent ? { type: "focus", path: row.parent } : null;
    case "Enter":
    case " ":
      if (isContainer) return { type: row.node.expanded ? "collapse" : "expand", path };
      return { type: "open", path };
    default:
      return null;
  }
}
