// Who may plan a site: only its leader plans, starts jobs and declares nodes dead. Any server
// takes API calls and agent connections. On SQLite one server owns the store, so it always leads;
// a PostgreSQL engine implements this with a lease row (or an advisory lock) in the store.

export interface Leadership {
  /** Does this server lead the site now? Cheap and synchronous: asked on every decision. */
  leads(site: string): boolean;
  /** Take or keep the sites' leadership (every tick); returns the sites newly led. */
  renew(sites: readonly string[]): Promise<string[]>;
  /** Give every site up (a server stopping). */
  release(): Promise<void>;
}

/** The single server of a one-process store leads every site. */
export const soleLeadership: Leadership = {
  leads: () => true,
  renew: async () => [],
  release: async () => {},
};
