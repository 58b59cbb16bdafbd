// Evaluating a parsed properties filter over a node's flat properties (SQL's three-valued logic).

import { compileLike } from "./linear-pattern.ts";
import type { PropertyValue } from "./node.ts";
import {
  type CompareOp,
  type FilterExpr,
  type FilterLiteral,
  type ParseFilterOptions,
  parseFilter,
} from "./properties-filter.ts";

// Three-valued logic as in SQL: a comparison with a missing property is unknown (null), and
// `not unknown` stays unknown, so `not (gpu_count > 0)` does not select nodes lacking gpu_count.
type Truth = boolean | null;

/** OAR stores booleans as 'YES'/'NO'; reference JSON has true/false: both read as booleans. */
function asBoolean(v: PropertyValue): Truth {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  const s = v.toLowerCase();
  if (s === "yes" || s === "true") return true;
  if (s === "no" || s === "false" || s === "") return false;
  return true;
}

/** Compare a node's value with a literal: numbers numerically, booleans as YES/NO, else text. */
function compare(v: PropertyValue, op: CompareOp, lit: FilterLiteral): Truth {
  if (v === null || v === undefined || lit === null) return null;
  let a: string | number;
  let b: string | number;
  if (typeof v === "boolean" || typeof lit === "boolean") {
    const x = asBoolean(v);
    const y = asBoolean(lit);
    if (x === null || y === null) return null;
    a = x ? 1 : 0;
    b = y ? 1 : 0;
  } else if (typeof v === "number" && typeof lit === "number") {
    a = v;
    b = lit;
  } else if (typeof v === "number" || typeof lit === "number") {
    const x = Number(v);
    const y = Number(lit);
    if (Number.isNaN(x) || Number.isNaN(y) || String(v).trim() === "" || String(lit).trim() === "") {
      a = String(v);
      b = String(lit);
    } else {
      a = x;
      b = y;
    }
  } else {
    a = v;
    b = lit;
  }
  switch (op) {
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
}

/** A compiled predicate over a node's flat properties; true only when the filter is true. */
export type NodePredicate = (props: Readonly<Record<string, PropertyValue>>) => boolean;

/** Compile an expression into a closure (the planner evaluates it once per node and filter). */
export function compileFilter(e: FilterExpr): NodePredicate {
  const f = compileTruth(e);
  return (props) => f(props) === true;
}

function compileTruth(e: FilterExpr): (p: Readonly<Record<string, PropertyValue>>) => Truth {
  switch (e.kind) {
    case "and": {
      const l = compileTruth(e.left);
      const r = compileTruth(e.right);
      return (p) => {
        const a = l(p);
        if (a === false) return false;
        const b = r(p);
        if (b === false) return false;
        return a === null || b === null ? null : true;
      };
    }
    case "or": {
      const l = compileTruth(e.left);
      const r = compileTruth(e.right);
      return (p) => {
        const a = l(p);
        if (a === true) return true;
        const b = r(p);
        if (b === true) return true;
        return a === null || b === null ? null : false;
      };
    }
    case "not": {
      const f = compileTruth(e.expr);
      return (p) => {
        const a = f(p);
        return a === null ? null : !a;
      };
    }
    case "literal":
      return () => asBoolean(e.value);
    case "compare": {
      const { property, op, value } = e;
      return (p) => compare(p[property] ?? null, op, value);
    }
    case "in": {
      const { property, values, negated } = e;
      return (p) => {
        const v = p[property] ?? null;
        if (v === null) return null;
        let r: Truth = false;
        for (const lit of values) {
          const c = compare(v, "=", lit);
          if (c === true) {
            r = true;
            break;
          }
          if (c === null) r = null;
        }
        return negated && r !== null ? !r : r;
      };
    }
    case "like": {
      const re = compileLike(e.pattern);
      const { property, negated } = e;
      return (p) => {
        const v = p[property] ?? null;
        if (v === null) return null;
        const m = re.test(String(v));
        return negated ? !m : m;
      };
    }
    case "is-null": {
      const { property, negated } = e;
      return (p) => {
        const isNull = (p[property] ?? null) === null;
        return negated ? !isNull : isNull;
      };
    }
    case "truthy": {
      const { property } = e;
      return (p) => asBoolean(p[property] ?? null);
    }
  }
}

/** Parse and compile in one step. */
export function nodeFilter(text: string, opts: ParseFilterOptions = {}): NodePredicate {
  return compileFilter(parseFilter(text, opts));
}
