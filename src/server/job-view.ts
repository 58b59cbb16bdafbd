// The Grid'5000 job representation (`OAR::Job#to_reservation`): nil fields are omitted,
// times are whole UNIX seconds, links are relative to the API mount the client used.

import type { JobEventRecord, JobRecord } from "../domain/job.ts";

export const ITEM_TYPE = "application/vnd.grid5000.item+json";
export const COLLECTION_TYPE = "application/vnd.grid5000.collection+json";

export interface Link {
  rel: string;
  href: string;
  type: string;
}

const secs = (t: number | null): number | undefined => (t === null ? undefined : Math.floor(t));

export function jobView(mount: string, job: JobRecord, events: JobEventRecord[]): Record<string, unknown> {
  const self = `${mount}/sites/${job.site}/jobs/${job.id}`;
  const view: Record<string, unknown> = {
    uid: job.id,
    user: job.user,
    user_uid: job.user,
    state: job.state,
    queue: job.queue,
    name: job.name ?? undefined,
    project: job.project ?? undefined,
    command: job.command,
    resources: job.resources,
    properties: job.properties ?? undefined,
    types: job.types,
    mode: "PASSIVE",
    walltime: job.walltime,
    submitted_at: secs(job.submittedAt),
    scheduled_at: secs(job.scheduledAt),
    pending_reason:
      job.state === "waiting" || job.state === "hold" ? (job.pendingReason ?? undefined) : undefined,
    dependencies: job.dependencies.length > 0 ? job.dependencies : undefined,
    array_id: job.arrayId ?? undefined,
    array_index: job.arrayIndex ?? undefined,
    started_at: secs(job.startedAt),
    stopped_at: secs(job.stoppedAt),
    exit_code: job.exitCode ?? undefined,
    message: job.message ?? undefined,
    directory: job.directory,
    assigned_nodes: job.assignedNodes.map((a) => a.node),
    resources_by_type: {
      cores: job.assignedNodes.flatMap((a) => Array.from({ length: a.cores }, (_, i) => `${a.node}/${i}`)),
    },
    events: events.map((e) => ({
      uid: e.id,
      created_at: Math.floor(e.createdAt),
      type: e.type,
      description: e.description,
    })),
    links: [
      { rel: "self", href: self, type: ITEM_TYPE },
      { rel: "parent", href: `${mount}/sites/${job.site}`, type: ITEM_TYPE },
      { rel: "stdout", href: `${self}/output?stream=stdout`, type: "text/plain" },
      { rel: "stderr", href: `${self}/output?stream=stderr`, type: "text/plain" },
    ] satisfies Link[],
  };
  for (const k of Object.keys(view)) if (view[k] === undefined) delete view[k];
  return view;
}
