// Queues a job can be submitted to, with priorities and limits (defaults; configuration may change them).

export interface QueueDef {
  name: string;
  /** Higher is planned first. */
  priority: number;
  /** Only admins may submit to it. */
  adminOnly: boolean;
  /** Jobs use idle resources and may be killed when a normal job needs them. */
  besteffort: boolean;
  /** Longest walltime a job may ask for, in seconds; 0: only the ceiling (MAX_WALLTIME_CEILING). */
  maxWalltime: number;
  /** Most active jobs (waiting, held, launching, running) one user may have in it; 0: no limit. */
  maxJobsPerUser: number;
}

/** A queue's default longest walltime: a year (configuration may set less, or more up to the ceiling). */
export const DEFAULT_MAX_WALLTIME = 365 * 86400;
/** No walltime is ever longer (about 30 years): keeps every end time a safe integer, everywhere. */
export const MAX_WALLTIME_CEILING = 1_000_000_000;

/** The longest walltime a job may have in this queue, in seconds. */
export const maxWalltimeOf = (q: Pick<QueueDef, "maxWalltime">): number =>
  q.maxWalltime > 0 ? Math.min(q.maxWalltime, MAX_WALLTIME_CEILING) : MAX_WALLTIME_CEILING;

export const DEFAULT_QUEUES: readonly QueueDef[] = [
  {
    name: "admin",
    priority: 10,
    adminOnly: true,
    besteffort: false,
    maxWalltime: DEFAULT_MAX_WALLTIME,
    maxJobsPerUser: 0,
  },
  {
    name: "production",
    priority: 5,
    adminOnly: false,
    besteffort: false,
    maxWalltime: DEFAULT_MAX_WALLTIME,
    maxJobsPerUser: 0,
  },
  {
    name: "default",
    priority: 2,
    adminOnly: false,
    besteffort: false,
    maxWalltime: DEFAULT_MAX_WALLTIME,
    maxJobsPerUser: 0,
  },
  {
    name: "besteffort",
    priority: 0,
    adminOnly: false,
    besteffort: true,
    maxWalltime: DEFAULT_MAX_WALLTIME,
    maxJobsPerUser: 0,
  },
];
