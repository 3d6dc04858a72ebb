import { describe, expect, it } from "vitest";
import {
  baseName,
  checkLocalPath,
  contentTypeFor,
  formatSize,
  progressText,
  suggestedFileName,
  suggestedPodPath,
} from "./fileTransfer";

describe("file transfer", () => {
  it("tells progress in binary units", () => {
    expect(progressText({ path: "/a", direction: "import", bytes_done: 512 * 2 ** 20, bytes_total: 2 * 2 ** 30 })).toBe(
      "stored 512 MiB of 2.0 GiB",
    );
    expect(progressText({ path: "/a", direction: "save", bytes_done: 0, bytes_total: 300 })).toBe("saved 0 B of 300 B");
    expect(formatSize(1536)).toBe("1.5 KiB");
    expect(formatSize(-1)).toBe("?");
  });

  it("suggests a resource path and a file name", () => {
    expect(baseName("/home/ada/Scans/tax 2025.pdf")).toBe("tax 2025.pdf");
    expect(baseName("C:\\Users\\ada\\a.txt")).toBe("a.txt");
    expect(suggestedPodPath("/home/ada/x#1?.pdf")).toBe("/documents/x-1-.pdf");
    expect(suggestedPodPath("")).toBe("");
    expect(suggestedFileName("/documents/tax%202025.pdf")).toBe("tax 2025.pdf");
    expect(suggestedFileName("/documents/bad%zz")).toBe("bad%zz");
  });

  it("guesses a content type from the extension", () => {
    expect(contentTypeFor("/x/Scan.PDF")).toBe("application/pdf");
    expect(contentTypeFor("/x/movie.mp4")).toBe("video/mp4");
    expect(contentTypeFor("/x/.hidden")).toBe("application/octet-stream");
    expect(contentTypeFor("/x/data.bin")).toBe("application/octet-stream");
  });

  it("wants a full path", () => {
    expect(checkLocalPath(" ", "file")).toBe("Choose the file.");
    expect(checkLocalPath("scan.pdf", "file")).toMatch(/full path/);
    expect(checkLocalPath("/tmp/scan.pdf", "file")).toBeNull();
    expect(checkLocalPath("D:\\scan.pdf", "file")).toBeNull();
  });
});
