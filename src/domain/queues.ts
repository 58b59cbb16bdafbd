// Queues a job can be submitted to, with priorities and limits (defaults; configuration may change them).

export interface QueueDef {
  name: string;
  /** Higher is planned first. */
  priority: number;
  /** Only admins may submit to it. */
  adminOnly: boolean;
  /** Jobs use idle resources and may be killed when a normal job needs them. */
  besteffort: boolean;
  /** Longest walltime a job may ask for, in seconds; 0: no limit. */
  maxWalltime: number;
  /** Most active jobs (waiting, held, launching, running) one user may have in it; 0: no limit. */
  maxJobsPerUser: number;
}

export const DEFAULT_QUEUES: readonly QueueDef[] = [
  { name: "admin", priority: 10, adminOnly: true, besteffort: false, maxWalltime: 0, maxJobsPerUser: 0 },
  { name: "production", priority: 5, adminOnly: false, besteffort: false, maxWalltime: 0, maxJobsPerUser: 0 },
  { name: "default", priority: 2, adminOnly: false, besteffort: false, maxWalltime: 0, maxJobsPerUser: 0 },
  { name: "besteffort", priority: 0, adminOnly: false, besteffort: true, maxWalltime: 0, maxJobsPerUser: 0 },
];
