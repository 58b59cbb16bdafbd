// Looks up Unix accounts in /etc/passwd and their supplementary groups in /etc/group (Node has
// no getpwnam or getgrouplist) to run jobs as someone.

import { readFileSync, statSync } from "node:fs";

export interface UnixAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Supplementary group ids (besides `gid`), from /etc/group. */
  groups: number[];
}

/** /etc/group parsed once per modification: a lookup per job must stay cheap. */
let groupCache: { path: string; mtimeMs: number; members: Map<string, number[]> } | null = null;

function supplementaryGroups(name: string, gid: number, groupPath: string): number[] {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(groupPath).mtimeMs;
  } catch {
    return [];
  }
  if (!groupCache || groupCache.path !== groupPath || groupCache.mtimeMs !== mtimeMs) {
    const members = new Map<string, number[]>();
    for (const line of readFileSync(groupPath, "utf8").split("\n")) {
      const f = line.split(":");
      if (f.length < 4 || !f[3]) continue;
      for (const m of f[3].split(",")) {
        const list = members.get(m) ?? [];
        list.push(Number(f[2]));
        members.set(m, list);
      }
    }
    groupCache = { path: groupPath, mtimeMs, members };
  }
  return (groupCache.members.get(name) ?? []).filter((g) => g !== gid);
}

export function findAccount(
  name: string,
  passwdPath = "/etc/passwd",
  groupPath = "/etc/group",
): UnixAccount | null {
  let text: string;
  try {
    text = readFileSync(passwdPath, "utf8");
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f.length >= 7) {
      const gid = Number(f[3]);
      return {
        name,
        uid: Number(f[2]),
        gid,
        home: f[5] ?? "/",
        groups: supplementaryGroups(name, gid, groupPath),
      };
    }
  }
  return null;
}
