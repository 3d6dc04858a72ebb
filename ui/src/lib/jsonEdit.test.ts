import { describe, expect, it } from "vitest";
import { describeJsonError, formatJson, lineColumn, validateJson } from "./jsonEdit";

function error(text: string) {
  const r = validateJson(text);
  if (r.ok) throw new Error(`expected ${JSON.stringify(text)} to be invalid`);
  return r;
}

describe("validateJson", () => {
  it("accepts every kind of JSON value", () => {
    for (const text of ['{"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"]}', "[]", "{}", ' "s" ', "0", "-0.5"]) {
      const r = validateJson(text);
      expect(r.ok, text).toBe(true);
      if (r.ok) expect(r.value).toEqual(JSON.parse(text));
    }
  });

  it("points at a missing comma", () => {
    const r = error('{\n  "name": "Ada"\n  "city": "London"\n}');
    expect([r.line, r.column]).toEqual([3, 3]);
    expect(r.message).toContain('Expected "," or "}"');
  });

  it("points at a trailing comma", () => {
    const r = error('{\n  "a": 1,\n}');
    expect([r.line, r.column]).toEqual([3, 1]);
    expect(r.message).toContain("Trailing comma");
  });

  it("points at unquoted names and single quotes", () => {
    expect(error("{name: 1}")).toMatchObject({ line: 1, column: 2 });
    expect(error("['x']")).toMatchObject({ line: 1, column: 2 });
  });

  it("catches unterminated strings and an empty text", () => {
    expect(error('{"a": "b}').message).toContain("Unterminated");
    expect(error('{"a": "b\n"}').message).toContain("span lines");
    expect(error("").message).toContain("end");
  });

  it("rejects what follows the value", () => {
    const r = error("{} x");
    expect(r.column).toBe(4);
    expect(r.message).toContain("after the end");
  });

  it("rejects numbers JSON does not allow", () => {
    expect(validateJson("01").ok).toBe(false);
    expect(validateJson("1.").ok).toBe(false);
    expect(validateJson("+1").ok).toBe(false);
  });
});

describe("helpers", () => {
  it("computes 1-based line and column", () => {
    expect(lineColumn("ab\ncd", 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
  });
  it("describes an error in one sentence", () => {
    expect(describeJsonError(validateJson("[1,]"))).toBe("Line 1, column 4: Trailing comma before ]");
    expect(describeJsonError(validateJson("[1]"))).toBeNull();
  });
  it("formats valid JSON and leaves invalid text alone", () => {
    expect(formatJson('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(formatJson("{oops")).toBe("{oops");
  });
});
