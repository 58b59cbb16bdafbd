// A schedulable node as the scheduler sees it: capacity plus flat properties for filters.

/** A property value a filter can compare (`cluster='dahu'`, `gpu_count > 0`, `not exotic`). */
export type PropertyValue = string | number | boolean | null;

export interface NodeInfo {
  /** Short name, unique in its site (`dahu-1`, or the host name on the embedded default). */
  uid: string;
  site: string;
  cluster: string;
  /** Cores a job can be given (architecture.nb_cores in the reference). */
  cores: number;
  /** Bytes of RAM (main_memory.ram_size in the reference). */
  memoryBytes: number;
  gpus: number;
  /** Processors (sockets); the planner's `cpu=N` level takes cores/cpus cores each. Absent: 1. */
  cpus?: number;
  /** Flat properties, OAR-style: cluster, nodeset, memnode, gpu_count, exotic, ... */
  properties: Record<string, PropertyValue>;
}

/** Cores of one node given to a job. The first entry of a job's list is its head node. */
export interface NodeAllocation {
  node: string;
  cores: number;
}
