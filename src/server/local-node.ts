// The name this machine goes by as a node: its host name's first label, made safe.

import { hostname } from "node:os";

export function localNodeName(): string {
  const short = hostname().split(".")[0] ?? "localhost";
  return short.replace(/[^A-Za-z0-9_.-]/g, "-") || "localhost";
}
