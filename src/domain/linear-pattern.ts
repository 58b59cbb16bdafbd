// Users' patterns (regular expressions, globs, SQL LIKE) compiled to linear-time matchers (RE2).

import { RE2JS, RE2JSException, RE2JSSyntaxException } from "re2js";

/**
 * Why RE2 and not `RegExp`: a backtracking engine takes exponential time on `^(a+)+$` against
 * thirty `a`s and a `!`, on the event loop, so one request would stall every other. RE2 runs in
 * time linear in the text for any pattern; it refuses what needs backtracking (lookaround,
 * backreferences) at compile time, which callers turn into a 400.
 */

/** Largest compiled program accepted: bounds the per-character cost (`.{1000}.{1000}` is ~4000). */
export const MAX_PROGRAM_SIZE = 1000;

export interface TextMatcher {
  test(text: string): boolean;
}

/** A pattern RE2 refuses; `offset` (0-based, in the pattern) points at the fault when known. */
export class PatternError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = "PatternError";
    this.offset = offset;
  }
}

function compile(source: string, flags: number, anchored: boolean, original: string): TextMatcher {
  let re: RE2JS;
  try {
    re = RE2JS.compile(source, flags);
  } catch (e) {
    if (e instanceof RE2JSSyntaxException) {
      const at = e.input ? original.indexOf(e.input) : -1;
      const what = e.input ? `${e.error}: \`${e.input}\`` : e.error;
      throw new PatternError(what, Math.max(0, at));
    }
    if (e instanceof RE2JSException) throw new PatternError(e.message, 0);
    throw e;
  }
  if (re.programSize() > MAX_PROGRAM_SIZE) {
    throw new PatternError(
      `pattern too complex (${re.programSize()} steps, at most ${MAX_PROGRAM_SIZE}): use fewer counted repeats`,
      0,
    );
  }
  return anchored ? { test: (t) => re.testExact(t) } : { test: (t) => re.test(t) };
}

/** A regular expression (RE2 syntax) that matches anywhere in the text, as `RegExp.test` does. */
export function compileRegex(source: string, caseInsensitive = false): TextMatcher {
  return compile(source, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0, false, source);
}

/** A glob (`*`, `?`, `[...]`, `[!...]`) that must match the whole text. */
export function compileGlob(glob: string, caseInsensitive = false): TextMatcher {
  let src = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") src += ".*";
    else if (c === "?") src += ".";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close < 0) src += "\\[";
      else {
        const body = glob.slice(i + 1, close).replace(/[\\[]/g, "\\$&");
        src += body.startsWith("!") ? `[^${body.slice(1)}]` : `[${body}]`;
        i = close;
      }
    } else src += RE2JS.quote(c);
  }
  return compile(src, RE2JS.DOTALL | (caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0), true, glob);
}

/** SQL LIKE: `%` any run, `_` one character, `\` escapes; the whole text, case-sensitive. */
export function compileLike(pattern: string): TextMatcher {
  let src = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\" && i + 1 < pattern.length) src += RE2JS.quote(pattern[++i]!);
    else if (c === "%") src += ".*";
    else if (c === "_") src += ".";
    else src += RE2JS.quote(c);
  }
  return compile(src, RE2JS.DOTALL, true, pattern);
}
