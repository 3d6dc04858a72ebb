// JSON editing help: validation that says where the mistake is (line and
// column), the same in every web engine, and tidy formatting. The core
// validates JSON again on save; this only tells the person earlier.

export type JsonCheck =
  | { ok: true; value: unknown }
  | { ok: false; message: string; line: number; column: number; offset: number };

/** 1-based line and column of a 0-based offset in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  return { line, column };
}

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** A strict JSON (RFC 8259) checker that reports the first error's position. */
function check(text: string): void {
  let i = 0;
  const fail = (message: string, at = i): never => {
    throw new JsonSyntaxError(message, at);
  };
  const describe = (at: number) => (at >= text.length ? "the end of the text" : `"${text[at]}"`);
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`Unexpected ${describe(i)}: expected a value`);
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("Bad \\u escape in a string");
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail("Bad escape in a string");
      } else if (c < " ") {
        fail(c === "\n" ? "A string cannot span lines (missing closing quote?)" : "Control character in a string");
      } else i++;
    }
    fail("Unterminated string (missing closing quote)");
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail(`Unexpected ${describe(i)}: expected a value`);
    else i += m[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    fail(i >= text.length ? "Unexpected end: expected a value" : `Unexpected ${describe(i)}: expected a value`);
  };
  const object = () => {
    i++;
    ws();
    if (text[i] === "}") {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail(`Expected a quoted property name, found ${describe(i)}`);
      string();
      ws();
      if (text[i] !== ":") fail(`Expected ":" after the property name, found ${describe(i)}`);
      i++;
      value();
      ws();
      if (text[i] === ",") {
        i++;
        ws();
        if (text[i] === "}") fail("Trailing comma before }");
        continue;
      }
      if (text[i] === "}") {
        i++;
        return;
      }
      fail(`Expected "," or "}", found ${describe(i)}`);
    }
  };
  const array = () => {
    i++;
    ws();
    if (text[i] === "]") {
      i++;
      return;
    }
    for (;;) {
      value();
      ws();
      if (text[i] === ",") {
        i++;
        ws();
        if (text[i] === "]") fail("Trailing comma before ]");
        continue;
      }
      if (text[i] === "]") {
        i++;
        return;
      }
      fail(`Expected "," or "]", found ${describe(i)}`);
    }
  };
  value();
  ws();
  if (i < text.length) fail(`Unexpected ${describe(i)} after the end of the JSON`);
}

/** Checks `text` as JSON; on error, says what and where. */
export function validateJson(text: string): JsonCheck {
  try {
    check(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      return { ok: false, message: e.message, offset: e.offset, ...lineColumn(text, e.offset) };
    }
    throw e;
  }
  return { ok: true, value: JSON.parse(text) };
}

/** The error as one sentence: "Line 2, column 5: Expected ...". */
export function describeJsonError(check: JsonCheck): string | null {
  return check.ok ? null : `Line ${check.line}, column ${check.column}: ${check.message}`;
}

/** Pretty-printed with two spaces, or the text unchanged when it is not valid JSON. */
export function formatJson(text: string): string {
  const result = validateJson(text);
  return result.ok ? JSON.stringify(result.value, null, 2) : text;
}
