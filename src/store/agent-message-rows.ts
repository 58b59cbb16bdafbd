// The store's agent messages (an outbox per node) and its change marker, over Kysely: shared by
// every engine's store, kept apart from kysely-store.ts to keep that file readable.

import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { AGENT_MESSAGE_KINDS, type AgentMessage, type AgentMessageKind } from "./contract.ts";
import type { Database } from "./schema.ts";

/** Increasing within this process, and roughly by time across processes (microseconds). */
let lastSeq = 0;
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000);
  return lastSeq;
}

export async function queueAgentMessages(db: Kysely<Database>, items: AgentMessage[]): Promise<void> {
  if (items.length === 0) return;
  await db
    .insertInto("agent_messages")
    .values(
      items.map((m) => ({
        id: randomUUID(),
        seq: nextSeq(),
        node: m.node,
        site: m.site,
        kind: m.kind,
        job_id: m.jobId,
        lease_id: m.leaseId,
        reason: m.reason,
        created_at: m.at,
      })),
    )
    .execute();
}

export async function takeAgentMessages(db: Kysely<Database>, nodes: string[]): Promise<AgentMessage[]> {
  if (nodes.length === 0) return [];
  // One statement removes and returns: two servers taking at once never both get a row.
  const rows = await db.deleteFrom("agent_messages").where("node", "in", nodes).returningAll().execute();
  rows.sort((a, b) => Number(a.seq) - Number(b.seq));
  return rows
    .filter((r) => (AGENT_MESSAGE_KINDS as readonly string[]).includes(r.kind))
    .map((r) => ({
      node: r.node,
      site: r.site,
      kind: r.kind as AgentMessageKind,
      jobId: Number(r.job_id),
      leaseId: r.lease_id,
      reason: r.reason,
      at: Number(r.created_at),
    }));
}

export async function purgeAgentMessages(db: Kysely<Database>, before: number): Promise<number> {
  const r = await db.deleteFrom("agent_messages").where("created_at", "<", before).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function changeMarker(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("job_events")
    .select((eb) => eb.fn.max("id").as("last"))
    .executeTakeFirst();
  return Number(row?.last ?? 0);
}
