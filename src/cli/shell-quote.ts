// Joins argv into one /bin/sh command line, quoting only where the shell would split or expand.

const SAFE = /^[A-Za-z0-9_\-.,:/@%+=]+$/;

export function shellJoin(args: string[]): string {
  // A single argument is taken as a shell command line, as `sh -c` and `nc run` do.
  if (args.length === 1) return args[0]!;
  return args.map((a) => (a !== "" && SAFE.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}
