// Looks up Unix accounts in /etc/passwd (Node has no getpwnam) to run jobs as someone.

import { readFileSync } from "node:fs";

export interface UnixAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export function findAccount(name: string, passwdPath = "/etc/passwd"): UnixAccount | null {
  let text: string;
  try {
    text = readFileSync(passwdPath, "utf8");
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f.length >= 7) {
      return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? "/" };
    }
  }
  return null;
}
