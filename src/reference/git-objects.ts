// Parsers for raw git commit and tree objects (the bytes `git cat-file --batch` returns).

export interface CommitInfo {
  id: string;
  tree: string;
  parents: string[];
  /** Committer time, UNIX seconds (what `git log --before` and `?timestamp=` compare). */
  time: number;
  authorName: string;
  message: string;
}

export interface TreeEntry {
  name: string;
  /** Octal mode as git writes it: "40000" for a tree, "100644" for a file... */
  mode: string;
  id: string;
  isTree: boolean;
}

export interface Tree {
  id: string;
  /** Entries in git tree order (bytewise by name, trees compared as if they ended with "/"). */
  entries: TreeEntry[];
  byName: Map<string, TreeEntry>;
}

/** Parses a commit object's bytes. */
export function parseCommit(id: string, data: Buffer): CommitInfo {
  const text = data.toString("utf8");
  const headerEnd = text.indexOf("\n\n");
  const header = headerEnd < 0 ? text : text.slice(0, headerEnd);
  const message = headerEnd < 0 ? "" : text.slice(headerEnd + 2).replace(/\n+$/, "");
  let tree = "";
  const parents: string[] = [];
  let time = 0;
  let authorName = "";
  for (const line of header.split("\n")) {
    if (line.startsWith("tree ")) tree = line.slice(5);
    else if (line.startsWith("parent ")) parents.push(line.slice(7));
    else if (line.startsWith("author ")) authorName = personName(line.slice(7));
    else if (line.startsWith("committer ")) time = personTime(line.slice(10));
  }
  return { id, tree, parents, time, authorName, message };
}

/** "Name <mail> 1234567890 +0100" -> "Name" */
function personName(s: string): string {
  const lt = s.indexOf(" <");
  return lt < 0 ? s : s.slice(0, lt);
}

/** "Name <mail> 1234567890 +0100" -> 1234567890 */
function personTime(s: string): number {
  const gt = s.lastIndexOf("> ");
  if (gt < 0) return 0;
  const n = Number.parseInt(s.slice(gt + 2), 10);
  return Number.isFinite(n) ? n : 0;
}

/** Parses a tree object's bytes: repeated "<mode> <name>\0<20-byte id>". */
export function parseTree(id: string, data: Buffer): Tree {
  const entries: TreeEntry[] = [];
  const byName = new Map<string, TreeEntry>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    const nul = data.indexOf(0, sp + 1);
    if (sp < 0 || nul < 0 || nul + 21 > data.length) break;
    const mode = data.toString("latin1", pos, sp);
    const name = data.toString("utf8", sp + 1, nul);
    const entryId = data.toString("hex", nul + 1, nul + 21);
    const entry: TreeEntry = { name, mode, id: entryId, isTree: mode === "40000" };
    entries.push(entry);
    byName.set(name, entry);
    pos = nul + 21;
  }
  return { id, entries, byName };
}
