// The HTTPS levels against a real gridq server: self-signed (kept and reused; clients trust it through
// REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or the CLI's credentials file) and CA-signed files reloaded on SIGHUP.

import assert from "node:assert/strict";
import { copyFileSync, readFileSync, statSync } from "node:fs";
import https from "node:https";
import { userInfo } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { connect } from "node:tls";
import { eventually, type GridqServer, startGridq, tempDir } from "../helpers/gridq-process.ts";
import { clientEnv, ensurePythonRequests, field, http, ncInfoPattern, run } from "./helpers/clients.ts";
import { makeTestCa } from "./helpers/test-ca.ts";

const servers: GridqServer[] = [];
let python = "python3";
after(async () => {
  for (const s of servers) await s.stop();
});
const jobs: { gq: GridqServer; ca: string; id: number; auth: string }[] = [];

/**
 * Stop the jobs a test started and wait until they end: a gridq server waits for its running
 * jobs before it exits, and the test must not leave processes behind.
 */
async function endJobs(): Promise<void> {
  for (const j of jobs.splice(0)) {
    const o = { headers: { Authorization: j.auth }, ca: j.ca };
    await http(`${j.gq.url}/api/v3/jobs/${j.id}`, { ...o, method: "PUT" }).catch(() => {});
    await eventually(
      async () => {
        const r = await http(`${j.gq.url}/api/v3/jobs/${j.id}/STATUSNC`, o);
        return r.status !== 200 || !["Running", "Queued"].includes(String(field(r.json(), "STATUSNC")));
      },
      20_000,
      `job ${j.id} ended`,
    );
  }
}

async function start(config: string, home?: string): Promise<GridqServer> {
  const gq = await startGridq({ config, ...(home ? { home } : {}) });
  servers.push(gq);
  return gq;
}

const admin = () => userInfo().username;

/** Log in as the admin through the v3 token endpoint, submit two sleeps, wait until both run. */
async function twoRunningJobs(gq: GridqServer, ca: string): Promise<{ user: string; ids: number[] }> {
  const user = admin();
  const t = (
    await http(`${gq.url}/api/v3/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username: user, password: gq.password }).toString(),
      ca,
    })
  ).json();
  const auth = `${t.token_type}:${t.access_token}`;
  const ids: number[] = [];
  for (const command of ["sleep 123", "sleep 456"]) {
    const r = await http(`${gq.url}/api/v3/jobs`, {
      method: "POST",
      headers: { Authorization: auth, "content-type": "application/json" },
      body: JSON.stringify({ command }),
      ca,
    });
    assert.equal(r.status, 201, r.text);
    const id = Number(field(r.json(), "IDINT"));
    jobs.push({ gq, ca, id, auth });
    ids.push(id);
  }
  await eventually(
    async () => {
      for (const id of ids) {
        const r = await http(`${gq.url}/api/v3/jobs/${id}/STATUSNC`, {
          headers: { Authorization: auth },
          ca,
        });
        if (field(r.json(), "STATUSNC") !== "Running") return false;
      }
      return true;
    },
    15_000,
    "both jobs running",
  );
  return { user, ids };
}

async function ncInfoWorks(gq: GridqServer, env: Record<string, string>, ca: string): Promise<void> {
  const { user, ids } = await twoRunningJobs(gq, ca);
  const base = clientEnv({ NC_URL: gq.url, USER: user });
  const connections = async () => {
    const r = await http(`${gq.url}/api/v3/project/1/connections`, {
      headers: { Authorization: jobs.at(-1)!.auth },
      ca,
    });
    return Number(field(r.json(), "CONNECTIONS"));
  };
  const before = await connections();
  const py = await run(python, ["nc_info.py", ...ids.map(String)], { ...base, ...env }, `${gq.password}\n`);
  assert.equal(py.code, 0, py.stderr);
  // Keep-alive over TLS: the session's token and job reads share one connection (+1: our read).
  assert.equal((await connections()) - before, 2);
  assert.match(py.stdout, ncInfoPattern(ids[0]!, user, "sleep 123"));
  assert.match(py.stdout, ncInfoPattern(ids[1]!, user, "sleep 456"));
  // verify=True with no trusted certificate: refused.
  const refused = await run(python, ["nc_info.py", String(ids[0])], base, `${gq.password}\n`);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /CERTIFICATE_VERIFY_FAILED/);
}

test("self-signed: made at first start (0600 key), trusted via REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / the CLI, reused after restart", async () => {
  python = ensurePythonRequests();
  const gq = await start("tls: self-signed\n");
  assert.match(gq.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const crt = join(gq.home, "tls", "self-signed.crt");
  assert.equal(statSync(join(gq.home, "tls", "self-signed.key")).mode & 0o777, 0o600);
  try {
    await ncInfoWorks(gq, { REQUESTS_CA_BUNDLE: crt }, crt);
    const sh = await run("sh", ["nc_info.sh", String(jobs.at(-1)!.id)], {
      ...clientEnv({ NC_URL: gq.url, USER: admin(), NC_PASSWORD: gq.password }),
      CURL_CA_BUNDLE: crt,
    });
    assert.equal(sh.code, 0, sh.stderr);
    assert.match(sh.stdout, /Status {10}Running/);
  } finally {
    await endJobs();
  }

  // The CLI trusts exactly this certificate, from its credentials file; verification stays on.
  const creds = JSON.parse(readFileSync(join(gq.home, "credentials.json"), "utf8"));
  assert.equal(creds.ca, readFileSync(crt, "utf8"));
  const url = await gq.cli(["url"]);
  assert.equal(url.stdout.trim(), gq.url);
  const list = await gq.cli(["list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(process.env.NODE_TLS_REJECT_UNAUTHORIZED, undefined);

  const before = readFileSync(crt, "utf8");
  const again = await gq.restart();
  servers.push(again);
  assert.equal(readFileSync(crt, "utf8"), before, "the certificate is reused");
  const r = await http(`${again.url}/api/v3/project/1/project`, { ca: crt });
  assert.equal(r.status, 401, "reachable over TLS with the same certificate");
});

/** The serial number of the certificate a fresh TLS connection gets. */
function servedSerial(url: string, ca: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca: readFileSync(ca) }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on("error", reject);
  });
}

test("CA-signed files with a chain: verify=True against the test CA; SIGHUP swaps the certificate without dropping connections", async () => {
  python = ensurePythonRequests();
  const ca = makeTestCa(tempDir("gridq-ca-"));
  const one = ca.issue("one");
  const two = ca.issue("two");
  const dir = tempDir("gridq-tlsfiles-");
  const cert = join(dir, "server.crt");
  const key = join(dir, "server.key");
  copyFileSync(one.cert, cert);
  copyFileSync(one.key, key);
  const gq = await start(`tls:\n  mode: files\n  cert: ${cert}\n  key: ${key}\n  chain: ${ca.chainFile}\n`);
  assert.match(gq.url, /^https:/);
  try {
    await ncInfoWorks(gq, { REQUESTS_CA_BUNDLE: ca.rootCert }, ca.rootCert);
  } finally {
    await endJobs();
  }
  const creds = JSON.parse(readFileSync(join(gq.home, "credentials.json"), "utf8"));
  assert.equal(creds.ca, undefined, "a CA-signed server needs no pinned certificate");

  // One kept-alive connection (one socket at most), identified by its local port.
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(ca.rootCert) });
  const token = creds.token as string;
  const probe = () =>
    new Promise<{ port: number; connections: number }>((resolve, reject) => {
      const u = new URL(`${gq.url}/api/v3/project/1/connections`);
      const req = https.get(u, { agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
        // Read the port now: a kept-alive socket is detached from the response once it ends.
        const port = req.socket?.localPort ?? 0;
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolve({ port, connections: Number(field(JSON.parse(body), "CONNECTIONS")) }));
      });
      req.on("error", reject);
    });
  try {
    const oldSerial = await servedSerial(gq.url, ca.rootCert);
    const p1 = await probe();
    copyFileSync(two.cert, cert);
    copyFileSync(two.key, key);
    gq.proc.kill("SIGHUP");
    const newSerial = await eventually(
      async () => {
        const s = await servedSerial(gq.url, ca.rootCert);
        return s !== oldSerial ? s : null;
      },
      10_000,
      "the new certificate",
    );
    assert.ok(p1.port > 0);
    const p2 = await probe();
    assert.equal(p2.port, p1.port, "the open connection survived the reload");
    const p3 = await probe();
    assert.equal(p3.port, p1.port);
    assert.equal(p3.connections, p2.connections, "and no new connection was needed");

    // A broken pair on disk: SIGHUP keeps serving the last good one.
    copyFileSync(one.key, key);
    gq.proc.kill("SIGHUP");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await servedSerial(gq.url, ca.rootCert), newSerial);
    assert.equal((await probe()).port, p1.port);
  } finally {
    agent.destroy();
  }
});
