import { describe, expect, it } from "vitest";
import type { ListEntry, ResourceMeta } from "./api";
import {
  emptyRoot,
  filterTree,
  findNode,
  mergeChildren,
  nodeName,
  parentPath,
  setExpanded,
  treeFromResources,
  treeKeyAction,
  visibleRows,
  PAGE,
  MAX_PAGE,
  appendPage,
  reloadLimit,
} from "./tree";

function meta(path: string): ResourceMeta {
  return {
    path,
    version: 1,
    content_type: "application/json",
    category: "other",
    sensitivity: "normal",
    etag: "e",
    size: 10,
    created_at: "2026-11-02T12:00:00Z",
    updated_at: "2026-11-02T12:00:00Z",
    author: "owner",
  };
}
const res = (path: string): ListEntry => ({ kind: "resource", ...meta(path) });
const dir = (path: string, members = 1): ListEntry => ({ kind: "container", path, members });

const pg = (entries: ListEntry[], next: string | null = null) => ({ entries, next });

const paths = (rows: { node: { path: string } }[]) => rows.map((r) => r.node.path);

describe("names and parents", () => {
  it("names the last segment", () => {
    expect(nodeName("/contact/")).toBe("contact");
    expect(nodeName("/contact/email")).toBe("email");
    expect(nodeName("/")).toBe("/");
  });
  it("finds the container above", () => {
    expect(parentPath("/contact/email")).toBe("/contact/");
    expect(parentPath("/contact/")).toBe("/");
    expect(parentPath("/")).toBeNull();
  });
});

describe("building and merging", () => {
  it("lists members in the vault's order, by path", () => {
    const root = mergeChildren(emptyRoot(), "/", pg([dir("/contact/"), res("/notes"), dir("/profile/")]));
    expect(paths(visibleRows(root))).toEqual(["/contact/", "/notes", "/profile/"]);
    const notes = findNode(root, "/notes");
    expect(notes?.meta?.path).toBe("/notes");
    expect(notes?.meta && "kind" in notes.meta).toBe(false);
  });

  it("opens a container and shows its members under it", () => {
    let root = mergeChildren(emptyRoot(), "/", pg([dir("/contact/"), dir("/profile/")]));
    root = mergeChildren(root, "/contact/", pg([res("/contact/email"), res("/contact/phone")]));
    const rows = visibleRows(root);
    expect(paths(rows)).toEqual(["/contact/", "/contact/email", "/contact/phone", "/profile/"]);
    expect(rows[1].depth).toBe(2);
    expect(rows[1].parent).toBe("/contact/");
  });

  it("keeps opened sub-containers when the parent is listed again", () => {
    let root = mergeChildren(emptyRoot(), "/", pg([dir("/contact/")]));
    root = mergeChildren(root, "/contact/", pg([res("/contact/email")]));
    root = mergeChildren(root, "/", pg([dir("/contact/"), dir("/health/")]));
    expect(paths(visibleRows(root))).toEqual(["/contact/", "/contact/email", "/health/"]);
  });

  it("drops members that are gone", () => {
    let root = mergeChildren(emptyRoot(), "/", pg([res("/a"), res("/b")]));
    root = mergeChildren(root, "/", pg([res("/b")]));
    expect(paths(visibleRows(root))).toEqual(["/b"]);
  });

  it("hides the members of a closed container", () => {
    let root = mergeChildren(emptyRoot(), "/", pg([dir("/contact/")]));
    root = mergeChildren(root, "/contact/", pg([res("/contact/email")]));
    root = setExpanded(root, "/contact/", false);
    expect(paths(visibleRows(root))).toEqual(["/contact/"]);
    expect(findNode(root, "/contact/")?.children).toHaveLength(1);
  });
});

describe("search", () => {
  it("builds an open tree from search results", () => {
    const root = treeFromResources([meta("/contact/email"), meta("/profile/card"), meta("/contact/work/email")]);
    expect(paths(visibleRows(root))).toEqual([
      "/contact/",
      "/contact/work/",
      "/contact/work/email",
      "/contact/email",
      "/profile/",
      "/profile/card",
    ]);
  });

  it("filters the loaded tree case-insensitively, keeping the containers above", () => {
    let root = mergeChildren(emptyRoot(), "/", pg([res("/Emails"), dir("/contact/"), dir("/profile/")]));
    root = mergeChildren(root, "/contact/", pg([res("/contact/email"), res("/contact/phone")]));
    root = setExpanded(root, "/contact/", false);
    const found = filterTree(root, "EMAIL");
    expect(paths(visibleRows(found))).toEqual(["/Emails", "/contact/", "/contact/email"]);
    expect(filterTree(root, "  ")).toBe(root);
    expect(visibleRows(filterTree(root, "nothing-like-this"))).toEqual([]);
  });
});

describe("keyboard", () => {
  let root = mergeChildren(emptyRoot(), "/", pg([dir("/contact/"), res("/notes")]));
  root = mergeChildren(root, "/contact/", pg([res("/contact/email")]));
  const rows = visibleRows(root);

  it("moves up and down, home and end", () => {
    expect(treeKeyAction(rows, "/contact/", "ArrowDown")).toEqual({ type: "focus", path: "/contact/email" });
    expect(treeKeyAction(rows, "/contact/email", "ArrowUp")).toEqual({ type: "focus", path: "/contact/" });
    expect(treeKeyAction(rows, "/notes", "ArrowDown")).toBeNull();
    expect(treeKeyAction(rows, "/notes", "Home")).toEqual({ type: "focus", path: "/contact/" });
    expect(treeKeyAction(rows, "/contact/", "End")).toEqual({ type: "focus", path: "/notes" });
  });

  it("opens and closes containers with the arrows and Enter", () => {
    const closed = visibleRows(setExpanded(root, "/contact/", false));
    expect(treeKeyAction(closed, "/contact/", "ArrowRight")).toEqual({ type: "expand", path: "/contact/" });
    expect(treeKeyAction(closed, "/contact/", "Enter")).toEqual({ type: "expand", path: "/contact/" });
    expect(treeKeyAction(rows, "/contact/", "ArrowRight")).toEqual({ type: "focus", path: "/contact/email" });
    expect(treeKeyAction(rows, "/contact/", "ArrowLeft")).toEqual({ type: "collapse", path: "/contact/" });
    expect(treeKeyAction(rows, "/contact/email", "ArrowLeft")).toEqual({ type: "focus", path: "/contact/" });
  });

  it("opens a resource with Enter", () => {
    expect(treeKeyAction(rows, "/notes", "Enter")).toEqual({ type: "open", path: "/notes" });
    expect(treeKeyAction(rows, "/notes", "ArrowRight")).toBeNull();
    expect(treeKeyAction(rows, "/notes", "x")).toBeNull();
  });
});

describe("paging", () => {
  const orders = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => res(`/purchases/o${String(from + i).padStart(6, "0")}`));

  it("shows the first page, then a show-more row that loads the next page after it", () => {
    let root = mergeChildren(emptyRoot(), "/", pg([{ kind: "container", path: "/purchases/", members: 100_000 }]));
    root = mergeChildren(root, "/purchases/", pg(orders(0, PAGE), "/purchases/o000199"));
    let rows = visibleRows(root);
    expect(rows).toHaveLength(1 + PAGE + 1);
    const more = rows[rows.length - 1];
    expect(more.more).toBe(true);
    expect(more.node.path).toBe("/purchases/");
    expect(findNode(root, "/purchases/")?.next).toBe("/purchases/o000199");
    // The show-more row is not a tree item the arrows land on.
    expect(treeKeyAction(rows.filter((r) => !r.more), "/purchases/o000199", "ArrowDown")).toBeNull();

    root = appendPage(root, "/purchases/", pg(orders(PAGE, 5)));
    rows = visibleRows(root);
    expect(rows.some((r) => r.more)).toBe(false);
    expect(rows).toHaveLength(1 + PAGE + 5);
    expect(rows[rows.length - 1].node.path).toBe("/purchases/o000204");
  });

  it("keeps what is loaded when a container is listed again, and asks for as many", () => {
    let root = mergeChildren(emptyRoot(), "/", pg([dir("/a/"), dir("/b/")], "/b/"));
    root = mergeChildren(root, "/a/", pg([res("/a/x")]));
    expect(reloadLimit(findNode(root, "/"))).toBe(PAGE);
    root = appendPage(root, "/", pg([dir("/a/"), dir("/c/")], "/c/"));
    expect(paths(visibleRows(root))).toEqual(["/a/", "/a/x", "/b/", "/c/", "/"]);
    const many = mergeChildren(root, "/", pg(orders(0, 3000)));
    expect(reloadLimit(findNode(many, "/"))).toBe(3000);
    expect(reloadLimit(mergeChildren(root, "/", pg(orders(0, MAX_PAGE + 1))))).toBe(MAX_PAGE);
    // Listed again from the start: the opened sub-container keeps its members.
    root = mergeChildren(root, "/", pg([dir("/a/"), dir("/b/"), dir("/c/")]));
    expect(paths(visibleRows(root))).toEqual(["/a/", "/a/x", "/b/", "/c/"]);
  });
});
