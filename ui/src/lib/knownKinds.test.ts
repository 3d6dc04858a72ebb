import { describe, expect, it } from "vitest";
import { formToJson, formValues, kindFor, kindForPath, validateForm } from "./knownKinds";

describe("which form fits", () => {
  it("goes by the first segment of a resource path", () => {
    expect(kindForPath("/profile/card")).toBe("profile");
    expect(kindForPath("/contact/email")).toBe("contact");
    expect(kindForPath("/address/home")).toBe("address");
    expect(kindForPath("/addresses/work")).toBe("address");
    expect(kindForPath("/purchases/2026-order")).toBeNull();
    expect(kindForPath("/profile/")).toBeNull();
    expect(kindForPath("/profile")).toBeNull();
    expect(kindForPath("/profiles/card")).toBeNull();
  });

  it("needs a JSON object whose known fields are text", () => {
    expect(kindFor("/profile/card", '{"name": "Ada", "extra": [1]}')).toBe("profile");
    expect(kindFor("/profile/card", "")).toBe("profile");
    expect(kindFor("/profile/card", '{"name": {"first": "Ada"}}')).toBeNull();
    expect(kindFor("/contact/email", '"ada@example.org"')).toBeNull();
    expect(kindFor("/contact/list", "[]")).toBeNull();
    expect(kindFor("/contact/email", "{broken")).toBeNull();
    expect(kindFor("/contact/email", null)).toBeNull();
    expect(kindFor("/notes/x", "{}")).toBeNull();
  });
});

describe("form and JSON", () => {
  it("reads known fields, blank when absent", () => {
    expect(formValues("contact", '{"email": "ada@example.org", "phone": 12}')).toEqual({
      email: "ada@example.org",
      phone: "",
      website: "",
    });
  });

  it("round-trips without losing unknown fields or their order", () => {
    const original = '{"kind": "home", "street": "1 Old Rd", "city": "Leeds", "notes": {"gate": "blue"}}';
    const values = formValues("address", original);
    expect(values.street).toBe("1 Old Rd");
    const saved = formToJson("address", { ...values, street: "2 New St", postcode: "LS1 1AA", country: "UK" }, original);
    const object = JSON.parse(saved);
    expect(object).toEqual({
      kind: "home",
      street: "2 New St",
      city: "Leeds",
      notes: { gate: "blue" },
      postcode: "LS1 1AA",
      country: "UK",
    });
    expect(Object.keys(object)).toEqual(["kind", "street", "city", "notes", "postcode", "country"]);
    expect(formValues("address", saved)).toEqual({ street: "2 New St", city: "Leeds", postcode: "LS1 1AA", country: "UK" });
  });

  it("removes blank optional fields and trims", () => {
    const saved = formToJson("profile", { name: " Ada ", nickname: "", birthday: "" }, '{"name": "A", "nickname": "Lovelace"}');
    expect(JSON.parse(saved)).toEqual({ name: "Ada" });
  });

  it("starts from an empty object for new resources", () => {
    expect(JSON.parse(formToJson("contact", { email: "a@b.co" }, ""))).toEqual({ email: "a@b.co" });
  });
});

describe("validateForm", () => {
  it("asks for required fields", () => {
    expect(validateForm("profile", { name: "  " })).toEqual({ name: "Name is needed." });
    expect(Object.keys(validateForm("address", { street: "x" }))).toEqual(["city", "postcode", "country"]);
  });

  it("catches typing mistakes", () => {
    const errors = validateForm("contact", { email: "ada.example.org", phone: "call me", website: "example.org" });
    expect(Object.keys(errors)).toEqual(["email", "phone", "website"]);
    expect(validateForm("contact", { email: "ada@example.org", phone: "+44 (20) 7946-0958", website: "https://ada.dev" })).toEqual({});
    expect(validateForm("profile", { name: "Ada", birthday: "1815-02-30" }).birthday).toBeDefined();
    expect(validateForm("profile", { name: "Ada", birthday: "1815-12-10" })).toEqual({});
  });
});
