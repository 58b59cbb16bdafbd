// The OAR properties filter (`cluster='dahu' and gpu_count > 0`): tokenizer, parser to an AST, evaluator.

import { GridqError } from "./errors.ts";
import { compileLike, PatternError } from "./linear-pattern.ts";

/** A literal of the filter language. */
export type FilterLiteral = string | number | boolean | null;

export type CompareOp = "=" | "!=" | "<" | "<=" | ">" | ">=";

/** The parsed filter; `position` (1-based) points at the property in the source text. */
export type FilterExpr =
  | { kind: "and"; left: FilterExpr; right: FilterExpr }
  | { kind: "or"; left: FilterExpr; right: FilterExpr }
  | { kind: "not"; expr: FilterExpr }
  | { kind: "compare"; property: string; op: CompareOp; value: FilterLiteral; position: number }
  | { kind: "in"; property: string; values: FilterLiteral[]; negated: boolean; position: number }
  | { kind: "like"; property: string; pattern: string; negated: boolean; position: number }
  | { kind: "is-null"; property: string; negated: boolean; position: number }
  | { kind: "truthy"; property: string; position: number }
  | { kind: "literal"; value: FilterLiteral };

export interface ParseFilterOptions {
  /** Property names a filter may use; any other name is an error. Absent: any name is accepted. */
  knownProperties?: ReadonlySet<string>;
  /** Error code to throw (resource requests report filter errors as GRIDQ_INVALID_RESOURCES). */
  errorCode?: "GRIDQ_INVALID_PROPERTIES" | "GRIDQ_INVALID_RESOURCES";
  /** Offset of this filter inside a larger text, so positions point into that text. */
  offset?: number;
  /** The larger text to quote in messages (defaults to the filter itself). */
  fullText?: string;
}

type TokenKind = "ident" | "number" | "string" | "op" | "lparen" | "rparen" | "comma" | "end";
interface Token {
  kind: TokenKind;
  text: string;
  /** 0-based index in the filter text. */
  at: number;
  value?: string | number;
}

const KEYWORDS = new Set(["and", "or", "not", "in", "like", "is", "null", "true", "false"]);
const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 64;

class Parser {
  readonly tokens: Token[] = [];
  i = 0;
  depth = 0;
  readonly text: string;
  readonly opts: ParseFilterOptions;

  constructor(text: string, opts: ParseFilterOptions) {
    this.text = text;
    this.opts = opts;
  }

  fail(at: number, why: string): GridqError {
    const full = this.opts.fullText ?? this.text;
    const pos = (this.opts.offset ?? 0) + at + 1;
    const field = this.opts.errorCode === "GRIDQ_INVALID_RESOURCES" ? "resources" : "properties";
    return new GridqError(
      this.opts.errorCode ?? "GRIDQ_INVALID_PROPERTIES",
      `${why} at position ${pos} of '${full}'`,
      { [field]: full, position: pos },
    );
  }

  tokenize(): void {
    const s = this.text;
    let i = 0;
    while (i < s.length) {
      const c = s[i]!;
      if (/\s/.test(c)) {
        i++;
      } else if (/[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(s.slice(i))!;
        this.tokens.push({ kind: "ident", text: m[0], at: i });
        i += m[0].length;
      } else if (/[0-9]/.test(c) || (c === "-" && /[0-9.]/.test(s[i + 1] ?? "")) || c === ".") {
        const m = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(s.slice(i));
        if (!m) throw this.fail(i, `unexpected '${c}'`);
        this.tokens.push({ kind: "number", text: m[0], at: i, value: Number(m[0]) });
        i += m[0].length;
      } else if (c === "'" || c === '"') {
        // SQL strings: the quote is escaped by doubling it ('it''s').
        let j = i + 1;
        let out = "";
        for (;;) {
          if (j >= s.length) throw this.fail(i, "unterminated string");
          if (s[j] === c) {
            if (s[j + 1] === c) {
              out += c;
              j += 2;
              continue;
            }
            break;
          }
          out += s[j];
          j++;
        }
        this.tokens.push({ kind: "string", text: s.slice(i, j + 1), at: i, value: out });
        i = j + 1;
      } else if (c === "(" || c === ")" || c === ",") {
        this.tokens.push({ kind: c === "(" ? "lparen" : c === ")" ? "rparen" : "comma", text: c, at: i });
        i++;
      } else {
        const m = /^(<=|>=|<>|!=|==|=|<|>)/.exec(s.slice(i));
        if (!m) throw this.fail(i, `unexpected '${c}'`);
        this.tokens.push({ kind: "op", text: m[0], at: i });
        i += m[0].length;
      }
    }
    this.tokens.push({ kind: "end", text: "end of text", at: s.length });
  }

  peek(): Token {
    return this.tokens[this.i]!;
  }
  next(): Token {
    return this.tokens[this.i++]!;
  }
  isKeyword(t: Token, kw: string): boolean {
    return t.kind === "ident" && t.text.toLowerCase() === kw;
  }
  expectKeyword(kw: string): void {
    const t = this.next();
    if (!this.isKeyword(t, kw)) throw this.fail(t.at, `expected '${kw}', found '${t.text}'`);
  }

  parseAll(): FilterExpr {
    this.tokenize();
    if (this.peek().kind === "end") throw this.fail(0, "empty filter");
    const e = this.parseOr();
    const t = this.peek();
    if (t.kind !== "end") throw this.fail(t.at, `unexpected '${t.text}'`);
    return e;
  }

  parseOr(): FilterExpr {
    let left = this.parseAnd();
    while (this.isKeyword(this.peek(), "or")) {
      this.next();
      left = { kind: "or", left, right: this.parseAnd() };
    }
    return left;
  }

  parseAnd(): FilterExpr {
    let left = this.parseNot();
    while (this.isKeyword(this.peek(), "and")) {
      this.next();
      left = { kind: "and", left, right: this.parseNot() };
    }
    return left;
  }

  parseNot(): FilterExpr {
    if (this.isKeyword(this.peek(), "not")) {
      const t = this.next();
      if (++this.depth > MAX_DEPTH) throw this.fail(t.at, "filter nested too deeply");
      const expr = this.parseNot();
      this.depth--;
      return { kind: "not", expr };
    }
    return this.parsePrimary();
  }

  parsePrimary(): FilterExpr {
    const t = this.peek();
    if (t.kind === "lparen") {
      this.next();
      if (++this.depth > MAX_DEPTH) throw this.fail(t.at, "filter nested too deeply");
      const e = this.parseOr();
      this.depth--;
      const close = this.next();
      if (close.kind !== "rparen") throw this.fail(close.at, `expected ')', found '${close.text}'`);
      return e;
    }
    if (t.kind === "ident" && !KEYWORDS.has(t.text.toLowerCase())) return this.parsePredicate();
    if (t.kind === "ident" && (this.isKeyword(t, "true") || this.isKeyword(t, "false"))) {
      this.next();
      return { kind: "literal", value: this.isKeyword(t, "true") };
    }
    // `'dahu' = cluster` and `0 < gpu_count`: a literal first, then the operator is mirrored.
    if (t.kind === "string" || t.kind === "number") {
      const value = this.parseLiteral();
      const op = this.next();
      if (op.kind !== "op") throw this.fail(op.at, `expected a comparison operator, found '${op.text}'`);
      const prop = this.next();
      if (prop.kind !== "ident" || KEYWORDS.has(prop.text.toLowerCase())) {
        throw this.fail(prop.at, `expected a property name, found '${prop.text}'`);
      }
      this.checkKnown(prop);
      const position = (this.opts.offset ?? 0) + prop.at + 1;
      return { kind: "compare", property: prop.text, op: MIRROR[normOp(op.text)], value, position };
    }
    throw this.fail(t.at, `expected a property or '(', found '${t.text}'`);
  }

  checkKnown(t: Token): void {
    const known = this.opts.knownProperties;
    if (known && !known.has(t.text)) throw this.fail(t.at, `unknown property '${t.text}'`);
  }

  parsePredicate(): FilterExpr {
    const prop = this.next();
    this.checkKnown(prop);
    const property = prop.text;
    const position = (this.opts.offset ?? 0) + prop.at + 1;
    const t = this.peek();
    if (t.kind === "op") {
      this.next();
      return { kind: "compare", property, op: normOp(t.text), value: this.parseLiteral(), position };
    }
    let negated = false;
    if (this.isKeyword(t, "is")) {
      this.next();
      if (this.isKeyword(this.peek(), "not")) {
        this.next();
        negated = true;
      }
      this.expectKeyword("null");
      return { kind: "is-null", property, negated, position };
    }
    if (this.isKeyword(t, "not")) {
      const after = this.tokens[this.i + 1]!;
      if (this.isKeyword(after, "in") || this.isKeyword(after, "like")) {
        this.next();
        negated = true;
      }
    }
    const kw = this.peek();
    if (this.isKeyword(kw, "in")) {
      this.next();
      const open = this.next();
      if (open.kind !== "lparen") throw this.fail(open.at, `expected '(' after 'in', found '${open.text}'`);
      const values: FilterLiteral[] = [this.parseLiteral()];
      while (this.peek().kind === "comma") {
        this.next();
        values.push(this.parseLiteral());
      }
      const close = this.next();
      if (close.kind !== "rparen") throw this.fail(close.at, `expected ',' or ')', found '${close.text}'`);
      return { kind: "in", property, values, negated, position };
    }
    if (this.isKeyword(kw, "like")) {
      this.next();
      const p = this.next();
      if (p.kind !== "string")
        throw this.fail(p.at, `expected a quoted pattern after 'like', found '${p.text}'`);
      const pattern = p.value as string;
      try {
        compileLike(pattern); // refused here (a 400 at submission), not in the planner
      } catch (e) {
        if (e instanceof PatternError) throw this.fail(p.at, `invalid 'like' pattern: ${e.message}`);
        throw e;
      }
      return { kind: "like", property, pattern, negated, position };
    }
    if (negated) throw this.fail(kw.at, `expected 'in' or 'like', found '${kw.text}'`);
    // A bare property is a boolean test (`exotic`, `not exotic`), as OAR's YES/NO columns read.
    return { kind: "truthy", property, position };
  }

  parseLiteral(): FilterLiteral {
    const t = this.next();
    if (t.kind === "string" || t.kind === "number") return t.value!;
    if (this.isKeyword(t, "true")) return true;
    if (this.isKeyword(t, "false")) return false;
    if (this.isKeyword(t, "null")) return null;
    throw this.fail(t.at, `expected a number or a quoted string, found '${t.text}'`);
  }
}

const normOp = (op: string): CompareOp => (op === "<>" ? "!=" : op === "==" ? "=" : (op as CompareOp));
const MIRROR: Record<CompareOp, CompareOp> = {
  "=": "=",
  "!=": "!=",
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
};

/** Parse a properties filter; throws GridqError (code per options) pointing at the offending text. */
export function parseFilter(text: string, opts: ParseFilterOptions = {}): FilterExpr {
  if (text.length > MAX_FILTER_LENGTH) {
    throw new Parser(text, opts).fail(
      MAX_FILTER_LENGTH,
      `filter longer than ${MAX_FILTER_LENGTH} characters`,
    );
  }
  return new Parser(text, opts).parseAll();
}

/** Property names an expression reads (for validation and caching). */
export function filterProperties(e: FilterExpr, out: Set<string> = new Set()): Set<string> {
  if (e.kind === "and" || e.kind === "or") {
    filterProperties(e.left, out);
    filterProperties(e.right, out);
  } else if (e.kind === "not") filterProperties(e.expr, out);
  else if (e.kind !== "literal") out.add(e.property);
  return out;
}
