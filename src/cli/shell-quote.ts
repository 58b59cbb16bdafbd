// Joins argv into one /bin/sh command line, quoting only where the shell would split or expand.

const SAFE = /^[A-Za-z0-9_\-.,:/@%+=]+$/;

export function shellJoin(args: string[]): string {
  // A single argument is taken as a shell command line, as `sh -c` and `nc run` do.
  if (args.length === 1) return args[0]!;
  // A first word with `=` would be read as a variable assignment: quote it.
  return args
    .map((a, i) =>
      a !== "" && SAFE.test(a) && !(i === 0 && a.includes("=")) ? a : `'${a.replaceAll("'", `'\\''`)}'`,
    )
    .join(" ");
}
