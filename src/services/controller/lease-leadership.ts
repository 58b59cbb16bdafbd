// Leadership by a lease row in the store (`site_leaders`): a server leads a site while its row
// there is unexpired, renewed on every tick. A server that cannot reach the store cannot renew:
// it stops leading when its lease ends, and says so, so it never plans on stale data; another
// server takes the site over once the lease has expired. Clocks of servers must agree to well
// under the lease's length (NTP).

import type { ServiceDeps } from "../context.ts";
import type { Leadership } from "./leadership.ts";

export class LeaseLeadership implements Leadership {
  readonly #deps: ServiceDeps;
  readonly #server: string;
  /** Seconds a lease lasts without renewal: the bound on a takeover after the leader dies. */
  readonly #ttl: number;
  /** Sites this server holds a lease on, and until when. */
  readonly #held = new Map<string, number>();

  constructor(deps: ServiceDeps, o: { server: string; ttl: number }) {
    this.#deps = deps;
    this.#server = o.server;
    this.#ttl = o.ttl;
  }

  leads(site: string): boolean {
    const until = this.#held.get(site);
    return until !== undefined && until > this.#deps.clock.now();
  }

  async renew(sites: readonly string[]): Promise<string[]> {
    const gained: string[] = [];
    for (const site of sites) {
      const now = this.#deps.clock.now();
      const was = this.leads(site);
      let won: boolean;
      try {
        won = await this.#deps.store.claimLeadership(site, this.#server, now + this.#ttl, now);
      } catch (e) {
        const until = this.#held.get(site);
        if (until !== undefined && until <= now) {
          this.#held.delete(site);
          this.#deps.log.error({ err: e, site }, "the store is unreachable: no longer leading the site");
        } else if (until !== undefined) {
          this.#deps.log.warn(
            { err: e, site, until },
            "cannot renew the site's lease; leading until it ends",
          );
        }
        continue;
      }
      if (won) {
        this.#held.set(site, now + this.#ttl);
        if (!was) {
          this.#deps.log.info({ site, server: this.#server }, "leading the site");
          gained.push(site);
        }
      } else if (this.#held.delete(site)) {
        this.#deps.log.warn({ site }, "another server leads the site now");
      }
    }
    return gained;
  }

  async release(): Promise<void> {
    for (const site of this.#held.keys()) await this.#deps.store.releaseLeadership(site, this.#server);
    this.#held.clear();
  }
}
