// The CLI's one output module: human text (tables, key/value blocks) or JSON for scripts.

import Table from "cli-table3";
import type { JobView } from "../protocol/job-types.ts";

export function prettyDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m${String(r).padStart(2, "0")}s`;
  if (m > 0) return `${m}m${String(r).padStart(2, "0")}s`;
  return `${r}s`;
}

const when = (t?: number): string =>
  t === undefined ? "-" : new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);

export function jobDuration(j: JobView, nowSeconds: number): number | null {
  if (j.started_at === undefined) return null;
  return (j.stopped_at ?? nowSeconds) - j.started_at;
}

/** One job as `nc info` shows it: aligned label/value lines. */
export function formatJobInfo(j: JobView, nowSeconds: number): string {
  const d = jobDuration(j, nowSeconds);
  const rows: [string, string][] = [
    ["Job", String(j.uid)],
    ["User", j.user],
    ["Name", j.name ?? "-"],
    ["Queue", j.queue],
    ["Command", j.command],
    ["Status", j.state],
    ["   Host", j.assigned_nodes.join(",") || "-"],
    ["   Duration", d === null ? "-" : prettyDuration(d)],
    ["   Exit code", j.exit_code === undefined ? "-" : String(j.exit_code)],
    ["   Message", j.message ?? "-"],
    ["Resources", j.resources],
    ["Walltime", prettyDuration(j.walltime)],
    ["Submitted", when(j.submitted_at)],
    ["Started", when(j.started_at)],
    ["Stopped", when(j.stopped_at)],
    ["Directory", j.directory],
  ];
  return rows.map(([k, v]) => `${k.padEnd(16)}${v}`).join("\n");
}

export function formatJobTable(jobs: JobView[], nowSeconds: number): string {
  const t = new Table({
    head: ["ID", "USER", "STATE", "QUEUE", "NAME", "NODES", "SUBMITTED", "DURATION", "EXIT", "COMMAND"],
    style: { head: [], border: [], compact: true, "padding-left": 0, "padding-right": 2 },
    chars: {
      top: "",
      "top-mid": "",
      "top-left": "",
      "top-right": "",
      bottom: "",
      "bottom-mid": "",
      "bottom-left": "",
      "bottom-right": "",
      left: "",
      "left-mid": "",
      mid: "",
      "mid-mid": "",
      right: "",
      "right-mid": "",
      middle: "",
    },
  });
  for (const j of jobs) {
    const d = jobDuration(j, nowSeconds);
    const cmd = j.command.length > 40 ? `${j.command.slice(0, 37)}...` : j.command;
    t.push([
      j.uid,
      j.user,
      j.state,
      j.queue,
      j.name ?? "-",
      j.assigned_nodes.join(",") || "-",
      when(j.submitted_at),
      d === null ? "-" : prettyDuration(d),
      j.exit_code ?? "-",
      cmd,
    ]);
  }
  return t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
}

export interface Output {
  json: boolean;
  print(human: string, data: unknown): void;
}

export function makeOutput(
  json: boolean,
  write: (s: string) => void = (s) => process.stdout.write(s),
): Output {
  return {
    json,
    print(human, data) {
      write(json ? `${JSON.stringify(data, null, 2)}\n` : human.endsWith("\n") ? human : `${human}\n`);
    },
  };
}
