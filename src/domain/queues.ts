// Queues a job can be submitted to, with priorities; the scheduler issue adds limits.

export interface QueueDef {
  name: string;
  priority: number;
  /** Only admins may submit to it. */
  adminOnly: boolean;
  /** Jobs use idle resources and may be killed when a normal job needs them. */
  besteffort: boolean;
}

export const DEFAULT_QUEUES: readonly QueueDef[] = [
  { name: "admin", priority: 10, adminOnly: true, besteffort: false },
  { name: "production", priority: 5, adminOnly: false, besteffort: false },
  { name: "default", priority: 2, adminOnly: false, besteffort: false },
  { name: "besteffort", priority: 0, adminOnly: false, besteffort: true },
];
