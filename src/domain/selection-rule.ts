// Accelerator's selection-rule grammar (`status==RUNNING & user==bob`): tokenizer, parser, AST, evaluator.

import { GridqError } from "./errors.ts";
import { compileGlob, compileRegex, PatternError, type TextMatcher } from "./linear-pattern.ts";

/**
 * Grammar (AND binds tighter than OR; a bare space between predicates means AND):
 *
 *   rule      := or
 *   or        := and (("|" | "||" | OR) and)*
 *   and       := unary (("&" | "&&" | AND)? unary)*
 *   unary     := ("!" | NOT) unary | "(" or ")" | predicate
 *   predicate := FIELD (OP VALUE)?          a FIELD alone means != 0 / != ""
 *
 * FIELD is a name (case-insensitive, underscores ignored: `is_job` = `ISJOB`). VALUE is a
 * double-quoted string with backslash escapes, or a run of characters up to a space, `(`,
 * `)`, `&` or `|`.
 */

/** Comparison operators, as Altair's "Selection Rules Operators" table lists them. */
export const SELECTION_OPERATORS = [
  "==",
  "=",
  "!=",
  ">=",
  "<=",
  ">",
  "<",
  "!~~",
  "~~",
  "!~",
  "~",
  "!^^",
  "^^",
  "!^",
  "^",
  "!::",
  "::",
  "!:",
  ":",
] as const;
export type SelectionOperator = (typeof SELECTION_OPERATORS)[number];

/** Longest patterns accepted for `~` and `:` (they run in linear time: RE2, see linear-pattern.ts). */
export const MAX_PATTERN_LENGTH = 256;
/** Longest rule accepted, and deepest nesting: keeps the recursive parser far from the stack limit. */
export const MAX_RULE_LENGTH = 4096;
export const MAX_DEPTH = 64;

export type FieldValue = string | number;
export type FieldMap = Readonly<Record<string, FieldValue>>;

export type SelectionRule =
  | { kind: "or"; items: SelectionRule[] }
  | { kind: "and"; items: SelectionRule[] }
  | { kind: "not"; item: SelectionRule }
  | { kind: "truthy"; field: string; name: string; position: number }
  | {
      kind: "compare";
      /** Canonical field name (upper case, no underscores). */
      field: string;
      /** The field as the caller wrote it. */
      name: string;
      op: SelectionOperator;
      value: string;
      position: number;
      /** Set for `<`, `>`, `<=`, `>=` and for `==`/`!=` with a numeric value. */
      number: number | null;
      /** Set for the match (`~`, RE2 syntax) and glob (`:`) operators. */
      pattern: TextMatcher | null;
    };

type Token =
  | { type: "lparen" | "rparen" | "and" | "or" | "not" | "end"; position: number; text: string }
  | { type: "field"; position: number; text: string }
  | { type: "op"; position: number; text: SelectionOperator }
  | { type: "value"; position: number; text: string };

/** Canonical form of a field name: `is_job`, `IsJob` and `ISJOB` are one field. */
export const canonicalField = (name: string): string => name.replaceAll("_", "").toUpperCase();

const fail = (rule: string, position: number, message: string): GridqError =>
  new GridqError("GRIDQ_INVALID_SELECTION_RULE", `where: ${message} at position ${position + 1}`, {
    rule,
    position: position + 1,
  });

const FIELD_START = /[A-Za-z_]/;
const FIELD_CHAR = /[A-Za-z0-9_]/;
const SPACE = /\s/;
const VALUE_STOP = /[\s()&|]/;

/** Splits a rule into tokens; context-sensitive: what follows an operator is read as a value. */
export function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = rule.length;
  const skipSpace = () => {
    while (i < n && SPACE.test(rule[i]!)) i++;
  };
  while (true) {
    skipSpace();
    if (i >= n) break;
    const c = rule[i]!;
    const start = i;
    if (c === "(" || c === ")") {
      tokens.push({ type: c === "(" ? "lparen" : "rparen", position: start, text: c });
      i++;
    } else if (c === "&" || c === "|") {
      i += rule[i + 1] === c ? 2 : 1;
      tokens.push({ type: c === "&" ? "and" : "or", position: start, text: rule.slice(start, i) });
    } else if (c === "!") {
      // Where a token starts, `!` is NOT: the `!=`-style operators only follow a field name.
      tokens.push({ type: "not", position: start, text: "!" });
      i++;
    } else if (FIELD_START.test(c)) {
      while (i < n && FIELD_CHAR.test(rule[i]!)) i++;
      const word = rule.slice(start, i);
      const upper = word.toUpperCase();
      if (upper === "AND" || upper === "OR" || upper === "NOT") {
        tokens.push({ type: upper.toLowerCase() as "and" | "or" | "not", position: start, text: word });
        continue;
      }
      tokens.push({ type: "field", position: start, text: word });
      skipSpace();
      const op = SELECTION_OPERATORS.find((o) => rule.startsWith(o, i));
      if (!op) continue;
      tokens.push({ type: "op", position: i, text: op });
      i += op.length;
      skipSpace();
      tokens.push(readValue());
    } else {
      throw fail(rule, start, `unexpected '${c}'`);
    }
  }
  tokens.push({ type: "end", position: n, text: "" });
  return tokens;

  function readValue(): Token {
    const start = i;
    if (rule[i] === '"') {
      let out = "";
      i++;
      while (i < n && rule[i] !== '"') {
        if (rule[i] === "\\" && i + 1 < n) i++;
        out += rule[i];
        i++;
      }
      if (i >= n) throw fail(rule, start, "unterminated quoted value");
      i++;
      return { type: "value", position: start, text: out };
    }
    let out = "";
    while (i < n && !VALUE_STOP.test(rule[i]!)) {
      if (rule[i] === "\\" && i + 1 < n) i++;
      out += rule[i];
      i++;
    }
    if (out === "") {
      const what = i < n ? `'${rule[i]}'` : "the end";
      throw fail(rule, start, `expected a value after the operator, found ${what}`);
    }
    return { type: "value", position: start, text: out };
  }
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

export interface ParseOptions {
  /** Canonical names of the fields a rule may use; any other name is an error. */
  fields?: ReadonlySet<string>;
}

/** Parse a selection rule into its AST. Throws GRIDQ_INVALID_SELECTION_RULE with a 1-based position. */
export function parseSelectionRule(rule: string, options: ParseOptions = {}): SelectionRule {
  if (rule.length > MAX_RULE_LENGTH) {
    throw fail(rule, MAX_RULE_LENGTH, `the rule is longer than ${MAX_RULE_LENGTH} characters`);
  }
  const tokens = tokenize(rule);
  let k = 0;
  const peek = () => tokens[k]!;
  const take = () => tokens[k++]!;
  const describe = (t: Token) => (t.type === "end" ? "the end of the rule" : `'${t.text}'`);

  const parseOr = (depth: number): SelectionRule => {
    const items = [parseAnd(depth)];
    while (peek().type === "or") {
      take();
      items.push(parseAnd(depth));
    }
    return items.length === 1 ? items[0]! : { kind: "or", items };
  };
  const parseAnd = (depth: number): SelectionRule => {
    const items = [parseUnary(depth)];
    while (true) {
      const t = peek();
      if (t.type === "and") take();
      else if (t.type !== "not" && t.type !== "lparen" && t.type !== "field") break;
      items.push(parseUnary(depth));
    }
    return items.length === 1 ? items[0]! : { kind: "and", items };
  };
  const parseUnary = (depth: number): SelectionRule => {
    const t = take();
    if (depth > MAX_DEPTH) throw fail(rule, t.position, `nesting deeper than ${MAX_DEPTH}`);
    if (t.type === "not") return { kind: "not", item: parseUnary(depth + 1) };
    if (t.type === "lparen") {
      const inner = parseOr(depth + 1);
      const close = take();
      if (close.type !== "rparen") {
        throw fail(
          rule,
          close.position,
          `expected ')' to close '(' at position ${t.position + 1}, found ${describe(close)}`,
        );
      }
      return inner;
    }
    if (t.type === "field") return parsePredicate(t);
    throw fail(rule, t.position, `expected a field name, '(' or '!', found ${describe(t)}`);
  };
  const parsePredicate = (t: Token): SelectionRule => {
    const field = canonicalField(t.text);
    if (options.fields && !options.fields.has(field)) {
      throw new GridqError(
        "GRIDQ_UNKNOWN_FIELD",
        `where: unknown field '${t.text}' at position ${t.position + 1}`,
        { field: t.text, position: t.position + 1 },
      );
    }
    if (peek().type !== "op") return { kind: "truthy", field, name: t.text, position: t.position };
    const op = take() as Extract<Token, { type: "op" }>;
    const value = take();
    const text = value.text;
    let number: number | null = NUMBER.test(text) ? Number(text) : null;
    let pattern: TextMatcher | null = null;
    if (op.text === "<" || op.text === ">" || op.text === "<=" || op.text === ">=") {
      if (number === null) throw fail(rule, value.position, `'${op.text}' needs a number, found '${text}'`);
    } else if (op.text.includes("~") || op.text.includes(":")) {
      number = null;
      if (text.length > MAX_PATTERN_LENGTH) {
        throw fail(rule, value.position, `the pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
      }
      const fold = op.text.endsWith("~~") || op.text.endsWith("::");
      try {
        pattern = op.text.includes("~") ? compileRegex(text, fold) : compileGlob(text, fold);
      } catch (e) {
        if (!(e instanceof PatternError)) throw e;
        // The value's text starts one character later when it is quoted.
        const at = value.position + (rule[value.position] === '"' ? 1 : 0) + e.offset;
        const kind = op.text.includes("~") ? "regular expression (RE2 syntax)" : "glob";
        throw fail(rule, at, `invalid ${kind}: ${e.message}`);
      }
    } else if (op.text.includes("^")) number = null;
    return {
      kind: "compare",
      field,
      name: t.text,
      op: op.text,
      value: text,
      position: t.position,
      number,
      pattern,
    };
  };

  if (peek().type === "end") throw fail(rule, 0, "the rule is empty");
  const ast = parseOr(0);
  const rest = peek();
  if (rest.type !== "end") throw fail(rule, rest.position, `unexpected ${describe(rest)}`);
  return ast;
}

const truthy = (v: FieldValue | undefined): boolean =>
  typeof v === "number" ? v !== 0 : v !== undefined && v !== "";

function compare(r: Extract<SelectionRule, { kind: "compare" }>, v: FieldValue | undefined): boolean {
  const s = v === undefined ? "" : String(v);
  switch (r.op) {
    case "==":
    case "=":
      return r.number !== null && typeof v === "number" ? v === r.number : s === r.value;
    case "!=":
      return r.number !== null && typeof v === "number" ? v !== r.number : s !== r.value;
    case ">":
    case "<":
    case ">=":
    case "<=": {
      const x = typeof v === "number" ? v : NUMBER.test(s) ? Number(s) : Number.NaN;
      const y = r.number!;
      if (Number.isNaN(x)) return false;
      return r.op === ">" ? x > y : r.op === "<" ? x < y : r.op === ">=" ? x >= y : x <= y;
    }
    case "^":
      return s.includes(r.value);
    case "!^":
      return !s.includes(r.value);
    case "^^":
      return s.toLowerCase().includes(r.value.toLowerCase());
    case "!^^":
      return !s.toLowerCase().includes(r.value.toLowerCase());
    default: {
      const hit = r.pattern!.test(s);
      return r.op.startsWith("!") ? !hit : hit;
    }
  }
}

/** Does a record (canonical upper-case field names) satisfy the rule? */
export function evaluateSelectionRule(rule: SelectionRule, fields: FieldMap): boolean {
  switch (rule.kind) {
    case "or":
      return rule.items.some((r) => evaluateSelectionRule(r, fields));
    case "and":
      return rule.items.every((r) => evaluateSelectionRule(r, fields));
    case "not":
      return !evaluateSelectionRule(rule.item, fields);
    case "truthy":
      return truthy(fields[rule.field]);
    case "compare":
      return compare(rule, fields[rule.field]);
  }
}

const quoteValue = (v: string): string =>
  v !== "" && !/[\s()&|"\\]/.test(v) ? v : `"${v.replace(/["\\]/g, "\\$&")}"`;

/** The rule rebuilt as text, with explicit `&` and `|` and only the parentheses it needs. */
export function formatSelectionRule(rule: SelectionRule): string {
  switch (rule.kind) {
    case "or":
      return rule.items.map(formatSelectionRule).join(" | ");
    case "and":
      return rule.items
        .map((r) => (r.kind === "or" ? `(${formatSelectionRule(r)})` : formatSelectionRule(r)))
        .join(" & ");
    case "not": {
      const inner = formatSelectionRule(rule.item);
      return rule.item.kind === "or" || rule.item.kind === "and" ? `!(${inner})` : `!${inner}`;
    }
    case "truthy":
      return rule.name;
    case "compare":
      return `${rule.name}${rule.op}${quoteValue(rule.value)}`;
  }
}

/** Canonical field names a rule reads (to check them, or to push filters down to the store). */
export function fieldsOf(rule: SelectionRule): Set<string> {
  const out = new Set<string>();
  const walk = (r: SelectionRule): void => {
    if (r.kind === "or" || r.kind === "and") r.items.forEach(walk);
    else if (r.kind === "not") walk(r.item);
    else out.add(r.field);
  };
  walk(rule);
  return out;
}
