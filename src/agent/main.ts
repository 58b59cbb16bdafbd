// `gridq agent`: a node's daemon. Connects to the server over WebSocket with the node's
// credential, runs the leases it is given, and reconnects with backoff when the link drops.
// Jobs outlive this process: the next `gridq agent` on the same state dir adopts them.

import { readFileSync } from "node:fs";
import WebSocket from "ws";
import type { AgentToServer, ServerToAgent } from "../protocol/agent-messages.ts";
import { MAX_AGENT_MESSAGE, webSocketChannel } from "../protocol/websocket-channel.ts";
import { Agent } from "./agent.ts";
import { type AccountRules, accountFor } from "./job-account.ts";
import { defaultRunDir, removeRunDirIfEmpty } from "./run-dir.ts";
import { jobBaseEnv } from "./spawn-as-account.ts";

export interface RemoteAgentOptions {
  server: string;
  site: string;
  node: string;
  token: string;
  stateDir: string;
  runDir?: string;
  /** PEM of a CA to trust in addition to the system's (a self-signed server). */
  ca?: string;
  killGrace: number;
  /** Whose account jobs run as: the agent's own `jobs.*` settings. */
  rules: AccountRules;
  umask: string;
  log?: (line: string) => void;
}

/** Backoff between connection attempts: 0.5 s doubling to 30 s, with jitter. */
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A server that leaves a ping unanswered for this long (one to two periods) is gone. */
const PING_INTERVAL_MS = 5_000;

export function agentUrl(server: string, site: string, node: string): string {
  const u = new URL(server);
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new Error(`server URL ${server}: use http:// or https://`);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/3.0/sites/${encodeURIComponent(site)}/agents/connect`;
  u.search = new URLSearchParams({ node }).toString();
  return u.toString();
}

export class AgentRefused extends Error {}

/** Run until `signal` aborts; rejects with AgentRefused when the server will never accept us. */
export async function runRemoteAgent(o: RemoteAgentOptions, signal: AbortSignal): Promise<void> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // A bad URL is refused before anything is created on disk.
  const url = agentUrl(o.server, o.site, o.node);
  // A remote agent never knows a local first-start admin: root jobs only with jobs.allowRoot.
  const policy = { ...o.rules, node: o.node, agentUid: process.getuid?.() ?? -1 };
  const agent = new Agent({
    node: o.node,
    stateDir: o.stateDir,
    runDir: o.runDir ?? defaultRunDir(o.stateDir),
    killGrace: o.killGrace,
    umask: o.umask,
    serverUrl: o.server,
    baseEnv: jobBaseEnv(process.env),
    accountFor: (lease) => accountFor(policy, lease),
    // Test only: die (kill -9) between a job's spawn and the record of its start, to try the
    // recovery of that instant (test/security/agent-faults-launch.test.ts).
    ...(process.env.GRIDQ_TEST_AGENT_CRASH_AFTER_SPAWN === "1"
      ? { afterSpawn: () => process.kill(process.pid, "SIGKILL") }
      : {}),
  });
  let delay = BACKOFF_MIN_MS;
  try {
    while (!signal.aborted) {
      const outcome = await connectOnce(agent, url, o, signal);
      // A refusal for now (another agent still holds the node's connection) is retried with
      // the same backoff; any other refusal is final.
      if (outcome.refused) throw new AgentRefused(outcome.refused);
      if (signal.aborted) break;
      if (outcome.welcomed) delay = BACKOFF_MIN_MS;
      // Jitter spreads the reconnections of many agents after a server restart.
      const wait = delay * (0.5 + Math.random() / 2);
      log(`gridq agent: ${outcome.why}; reconnecting in ${(wait / 1000).toFixed(1)} s`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        signal.addEventListener(
          "abort",
          () => {
            clearTimeout(t);
            r();
          },
          { once: true },
        );
      });
      // A server that asked for a heartbeat every few seconds declares a silent node suspected,
      // then dead, on that scale (agents.suspectAfter, deadAfter): an agent away from it retries
      // at least every six heartbeats, so a restarted server hears from it in time.
      const beat = agent.heartbeatInterval;
      const most = beat ? Math.min(BACKOFF_MAX_MS, Math.max(1000, beat * 6000)) : BACKOFF_MAX_MS;
      delay = Math.min(delay * 2, most);
    }
  } finally {
    agent.stop();
    removeRunDirIfEmpty(o.runDir ?? defaultRunDir(o.stateDir));
  }
}

interface Outcome {
  welcomed: boolean;
  refused?: string;
  why: string;
}

function connectOnce(
  agent: Agent,
  url: string,
  o: RemoteAgentOptions,
  signal: AbortSignal,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let welcomed = false;
    let settled = false;
    const done = (x: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(x);
      }
    };
    // Certificate verification stays on (the `ws` default); `ca` only adds a trusted root.
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${o.token}` },
      maxPayload: MAX_AGENT_MESSAGE,
      handshakeTimeout: 10_000,
      ...(o.ca ? { ca: o.ca } : {}),
    });
    const onAbort = () => ws.close(1001, "agent stopping");
    signal.addEventListener("abort", onAbort, { once: true });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d));
      res.on("end", () => {
        let message = body.slice(0, 300);
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? message;
        } catch {
          // not JSON: keep the text
        }
        // 401/403/404 will not get better by retrying; 5xx and the like may.
        const final = res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404;
        done({ welcomed, why: `HTTP ${res.statusCode}: ${message}`, ...(final ? { refused: message } : {}) });
        ws.terminate();
      });
    });
    ws.on("error", (e) => done({ welcomed, why: `cannot reach ${o.server}: ${e.message}` }));
    let opened = false;
    ws.on("open", () => {
      opened = true;
      // A cut link may never deliver a FIN: if the server stops answering pings, drop the
      // connection and reconnect, instead of waiting on a dead socket forever.
      let answered = true;
      const pinger = setInterval(() => {
        if (!answered) {
          ws.terminate();
          return;
        }
        answered = false;
        ws.ping();
      }, PING_INTERVAL_MS);
      pinger.unref();
      ws.on("pong", () => {
        answered = true;
      });
      ws.on("close", () => clearInterval(pinger));
      const channel = webSocketChannel<ServerToAgent, AgentToServer>(ws);
      channel.onMessage((m) => {
        if (m.type === "welcome") welcomed = true;
      });
      void agent.connect(channel).then((refused) => {
        signal.removeEventListener("abort", onAbort);
        if (refused?.retry) done({ welcomed, why: `refused for now: ${refused.reason}` });
        else done({ welcomed, why: "connection closed", ...(refused ? { refused: refused.reason } : {}) });
      });
    });
    // Once open, the agent's own close handler settles (it knows whether the server refused us).
    ws.on("close", () => {
      if (!opened) done({ welcomed, why: "connection closed" });
    });
  });
}

export function readToken(o: { tokenFile?: string }, env: NodeJS.ProcessEnv): string {
  if (o.tokenFile) return readFileSync(o.tokenFile, "utf8").trim();
  if (env.GRIDQ_NODE_TOKEN) return env.GRIDQ_NODE_TOKEN.trim();
  throw new Error("give the node's credential: --token-file FILE or GRIDQ_NODE_TOKEN");
}
