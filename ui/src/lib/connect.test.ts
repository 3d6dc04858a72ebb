import { describe, expect, it } from "vitest";
import { fetchingText, linkHost, readConnectInput } from "./connect";

const LINK =
  "custodian://connect?client_id=https%3A%2F%2Fshop.test%2Fcustodian%2Fclient.json" +
  "&request_uri=https%3A%2F%2Fshop.test%3A8443%2Fcustodian%2Frequests%2Fr1";

describe("linkHost", () => {
  it("reads the request address's host from a link", () => {
    expect(linkHost(LINK)).toBe("shop.test:8443");
    expect(linkHost(LINK.replace("custodian:", "CUSTODIAN:"))).toBe("shop.test:8443");
  });

  it("reads a bare https request address", () => {
    expect(linkHost("https://shop.test/custodian/requests/r1")).toBe("shop.test");
  });

  it("names no host for anything else", () => {
    expect(linkHost("custodian://connect")).toBeNull();
    expect(linkHost("custodian://connect?client_id=x")).toBeNull();
    expect(linkHost("http://shop.test/r")).toBeNull();
    expect(linkHost("shop.test")).toBeNull();
  });
});

describe("readConnectInput", () => {
  it("trims and keeps the link as pasted", () => {
    expect(readConnectInput(`  ${LINK}\n`)).toEqual({ ok: true, link: LINK, host: "shop.test:8443" });
  });

  it("refuses an empty field and text with spaces", () => {
    expect(readConnectInput("  ").ok).toBe(false);
    expect(readConnectInput("https://shop.test/a b").ok).toBe(false);
  });

  it("leaves the rules to the core: an unknown form goes through", () => {
    expect(readConnectInput("ftp://shop.test/r")).toEqual({ ok: true, link: "ftp://shop.test/r", host: null });
  });
});

describe("fetchingText", () => {
  it("names the host when known", () => {
    expect(fetchingText("shop.test")).toBe("Fetching the request from shop.test…");
    expect(fetchingText(null)).toBe("Fetching the company's request…");
  });
});
