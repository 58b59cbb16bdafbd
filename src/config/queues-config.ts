// The `queues` setting: the built-in queues, each field overridable, plus queues of one's own.

import {
  DEFAULT_MAX_WALLTIME,
  DEFAULT_QUEUES,
  MAX_WALLTIME_CEILING,
  type QueueDef,
} from "../domain/queues.ts";

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `queues: {default: {maxWalltime: 7200}, long: {priority: 1, maxJobsPerUser: 10}}`. A queue set
 * to `null` is removed. Throws a message naming the key at fault.
 */
export function queuesSetting(v: unknown, fail: (msg: string) => Error): QueueDef[] {
  const byName = new Map(DEFAULT_QUEUES.map((q) => [q.name, { ...q }]));
  if (v === undefined || v === null) return [...byName.values()];
  if (typeof v !== "object" || Array.isArray(v))
    throw fail("config queues: expected a mapping of queue names");
  for (const [name, raw] of Object.entries(v as Record<string, unknown>)) {
    if (!QUEUE_NAME.test(name)) throw fail(`config queues: '${name}' is not a queue name`);
    if (raw === null) {
      byName.delete(name);
      continue;
    }
    if (typeof raw !== "object" || Array.isArray(raw))
      throw fail(`config queues.${name}: expected a mapping`);
    const q: QueueDef = byName.get(name) ?? {
      name,
      priority: 0,
      adminOnly: false,
      besteffort: false,
      maxWalltime: DEFAULT_MAX_WALLTIME,
      maxJobsPerUser: 0,
    };
    for (const [k, val] of Object.entries(raw as Record<string, unknown>)) {
      const where = `config queues.${name}.${k}`;
      if (k === "adminOnly" || k === "besteffort") {
        if (typeof val !== "boolean") throw fail(`${where}: expected true or false`);
        q[k] = val;
      } else if (k === "priority" || k === "maxWalltime" || k === "maxJobsPerUser") {
        const n = typeof val === "string" && val.trim() !== "" ? Number(val) : val;
        const max = k === "maxWalltime" ? MAX_WALLTIME_CEILING : 1e9;
        if (typeof n !== "number" || !Number.isInteger(n) || n < (k === "priority" ? -1000 : 0) || n > max)
          throw fail(
            `${where}: expected a whole number${k === "priority" ? "" : ` up to ${max} (0: no limit${k === "maxWalltime" ? ` but ${max} s` : ""})`}`,
          );
        q[k] = n;
      } else
        throw fail(
          `${where}: unknown setting (priority, adminOnly, besteffort, maxWalltime, maxJobsPerUser)`,
        );
    }
    byName.set(name, q);
  }
  if (!byName.has("default")) throw fail("config queues: the 'default' queue cannot be removed");
  return [...byName.values()];
}
