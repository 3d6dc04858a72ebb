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
  showMore,
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
  it("lists containers first, then resources, by name", () => {
    const root = mergeChildren(emptyRoot(), "/", [res("/notes"), dir("/profile/"), dir("/contact/")]);
    expect(paths(visibleRows(root))).toEqual(["/contact/", "/profile/", "/notes"]);
    const notes = findNode(root, "/notes");
    expect(notes?.meta?.path).toBe("/notes");
    expect(notes?.meta && "kind" in notes.meta).toBe(false);
  });

  it("opens a container and shows its members under it", () => {
    let root = mergeChildren(emptyRoot(), "/", [dir("/contact/"), dir("/profile/")]);
    root = mergeChildren(root, "/contact/", [res("/contact/phone"), res("/contact/email")]);
    const rows = visibleRows(root);
    expect(paths(rows)).toEqual(["/contact/", "/contact/email", "/contact/phone", "/profile/"]);
    expect(rows[1].depth).toBe(2);
    expect(rows[1].parent).toBe("/contact/");
  });

  it("keeps opened sub-containers when the parent is listed again", () => {
    let root = mergeChildren(emptyRoot(), "/", [dir("/contact/")]);
    root = mergeChildren(root, "/contact/", [res("/contact/email")]);
    root = mergeChildren(root, "/", [dir("/contact/"), dir("/health/")]);
    expect(paths(visibleRows(root))).toEqual(["/contact/", "/contact/email", "/health/"]);
  });

  it("drops members that are gone", () => {
    let root = mergeChildren(emptyRoot(), "/", [res("/a"), res("/b")]);
    root = mergeChildren(root, "/", [res("/b")]);
    expect(paths(visibleRows(root))).toEqual(["/b"]);
  });

  it("hides the members of a closed container", () => {
    let root = mergeChildren(emptyRoot(), "/", [dir("/contact/")]);
    root = mergeChildren(root, "/contact/", [res("/contact/email")]);
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
    let root = mergeChildren(emptyRoot(), "/", [dir("/contact/"), dir("/profile/"), res("/Emails")]);
    root = mergeChildren(root, "/contact/", [res("/contact/email"), res("/contact/phone")]);
    root = setExpanded(root, "/contact/", false);
    const found = filterTree(root, "EMAIL");
    expect(paths(visibleRows(found))).toEqual(["/contact/", "/contact/email", "/Emails"]);
    expect(filterTree(root, "  ")).toBe(root);
    expect(visibleRows(filterTree(root, "nothing-like-this"))).toEqual([]);
  });
});

describe("keyboard", () => {
  let root = mergeChildren(emptyRoot(), "/", [dir("/contact/"), res("/notes")]);
  root = mergeChildren(root, "/contact/", [res("/contact/email")]);
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
  it("shows a page of a large container, then a show-more row, then the next page", () => {
    const entries = Array.from({ length: PAGE * 2 + 5 }, (_, i) => ({
      kind: "container" as const,
      path: `/purchases/o${String(i).padStart(4, "0")}/`,
      members: 1,
    }));
    let root = mergeChildren(emptyRoot(), "/", [{ kind: "container", path: "/purchases/", members: entries.length }]);
    root = mergeChildren(root, "/purchases/", entries);
    let rows = visibleRows(root);
    expect(rows).toHaveLength(1 + PAGE + 1);
    expect(rows[rows.length - 1].more).toBe(PAGE + 5);
    expect(rows[rows.length - 1].node.path).toBe("/purchases/");
    root = showMore(root, "/purchases/");
    rows = visibleRows(root);
    expect(rows[rows.length - 1].more).toBe(5);
    root = showMore(root, "/purchases/");
    rows = visibleRows(root);
    expect(rows.some((r) => r.more !== undefined)).toBe(false);
    expect(rows).toHaveLength(1 + entries.length);
  });
});

