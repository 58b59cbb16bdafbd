// Connections (issue 10, hole 8), over real sockets to real servers: idle and slow sockets are
// closed, caps per client address and in total hold against a slowloris, and what Node's HTTP
// parser refuses is answered with gridq's error body.

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { eventually, type GridqServer, startGridq } from "../helpers/gridq-process.ts";
import { within } from "./limits-client.ts";

const HANG = 15_000;
let timed: GridqServer;
let capped: GridqServer;
const PER_CLIENT = 8;
const TOTAL = 24;

before(async () => {
  timed = await startGridq({
    config: "server:\n  headersTimeout: 1\n  requestTimeout: 2\n  keepAliveTimeout: 1\n",
  });
  capped = await startGridq({
    config: `server:\n  maxConnectionsPerClient: ${PER_CLIENT}\n  maxConnections: ${TOTAL}\n  headersTimeout: 120\n  requestTimeout: 120\n`,
  });
});
after(async () => {
  await Promise.all([timed?.stop(), capped?.stop()]);
});

interface Raw {
  socket: Socket;
  /** Everything the server sent. */
  text: () => string;
  closed: Promise<void>;
}

/** A raw TCP connection to `gq`, from a chosen loopback address (the server sees it as the client). */
function open(gq: GridqServer, from = "127.0.0.1"): Promise<Raw> {
  const { hostname, port } = new URL(gq.url);
  return new Promise((res, rej) => {
    let out = "";
    const socket = connect({ host: hostname, port: Number(port), localAddress: from });
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.on("data", (d) => (out += d));
    socket.once("connect", () => {
      socket.on("error", () => {});
      res({ socket, text: () => out, closed });
    });
    socket.once("error", rej);
  });
}

/** Status line and JSON body of a raw answer. */
function answer(raw: string): { status: number; body: Record<string, unknown> } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  const at = raw.indexOf("\r\n\r\n");
  return { status, body: at < 0 ? {} : JSON.parse(raw.slice(at + 4)) };
}

async function send(
  gq: GridqServer,
  data: string | null,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const c = await open(gq);
  if (data !== null) c.socket.write(data);
  await within(c.closed, HANG, `the server to answer and close (${data?.slice(0, 30)})`);
  return answer(c.text());
}

/** Can this machine use 127.0.0.2 and up as client addresses (Linux loopback can)? */
async function extraLoopback(): Promise<boolean> {
  try {
    (await open(timed, "127.0.0.2")).socket.destroy();
    return true;
  } catch {
    return false;
  }
}

test("what the HTTP parser refuses gets the documented error body", async () => {
  const cases: [string | null, number, string][] = [
    [`GET /3.0/ HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, 431, "GRIDQ_HEADERS_TOO_LARGE"],
    [`GET /3.0/${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414, "GRIDQ_URI_TOO_LONG"],
    ["GARBAGE\r\n\r\n", 400, "GRIDQ_BAD_REQUEST"],
    ["GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, "GRIDQ_BAD_REQUEST"],
    // Headers never finished, or nothing sent at all: closed after server.headersTimeout.
    ["GET / HTTP/1.1\r\nHost: x\r\n", 408, "GRIDQ_REQUEST_TIMEOUT"],
    [null, 408, "GRIDQ_REQUEST_TIMEOUT"],
  ];
  for (const [data, status, code] of cases) {
    const r = await send(timed, data);
    assert.equal(r.status, status, `${data?.slice(0, 40)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code);
    assert.equal(r.body.status, status);
    assert.equal(typeof r.body.message, "string");
    assert.equal(typeof r.body.request_id, "string");
  }
  // A URL over server.maxUrlLength but within the parser's limit is refused by the app, same body.
  const r = await fetch(`${timed.url}/3.0/${"a".repeat(10_000)}`);
  assert.equal(r.status, 414);
  assert.equal(((await r.json()) as { code: string }).code, "GRIDQ_URI_TOO_LONG");
});

test("an idle keep-alive connection is closed by the server", async () => {
  const c = await open(timed);
  c.socket.write("GET /3.0/ HTTP/1.1\r\nHost: x\r\n\r\n");
  await eventually(async () => c.text().includes("\r\n\r\n"), HANG, "the first answer");
  assert.match(c.text(), /^HTTP\/1\.1 200/);
  assert.match(c.text(), /keep-alive/i);
  // server.keepAliveTimeout is 1 s here; the server, not the client, ends the connection.
  await within(c.closed, HANG, "the idle connection to be closed");
});

test("a slowloris from one address takes its share only; the total cap answers 503", async (t) => {
  if (!(await extraLoopback())) {
    t.skip("this machine's loopback does not accept 127.0.0.2 as a source address");
    return;
  }
  const held: Raw[] = [];
  try {
    // One address opens many sockets and trickles headers it never ends.
    const attempts = await Promise.all(
      Array.from({ length: PER_CLIENT + 10 }, () => open(capped, "127.0.0.2")),
    );
    for (const c of attempts) c.socket.write("GET /3.0/ HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    await eventually(
      async () => attempts.filter((c) => c.socket.destroyed || c.text() !== "").length >= 10,
      HANG,
      "the sockets over the per-client cap to be refused",
    );
    const refused = attempts.filter((c) => c.text() !== "");
    held.push(...attempts);
    assert.equal(refused.length, 10, "exactly the sockets over the cap were refused");
    const r = answer(refused[0]!.text());
    assert.equal(r.status, 503);
    assert.equal(r.body.code, "GRIDQ_TOO_MANY_CONNECTIONS");
    assert.match(String(r.body.message), new RegExp(`${PER_CLIENT} connections from 127\\.0\\.0\\.2`));
    // Meanwhile another client is served at once.
    const other = await within(fetch(`${capped.url}/3.0/`), HANG, "another client's request");
    assert.equal(other.status, 200);
    await other.text();
    // Many addresses together reach the total cap: the next connection is answered 503.
    let last: Raw | null = null;
    for (let a = 3; a < 3 + TOTAL && !last; a++) {
      for (let i = 0; i < PER_CLIENT && !last; i++) {
        const c = await open(capped, `127.0.0.${a}`);
        held.push(c);
        c.socket.write("GET /3.0/ HTTP/1.1\r\nHost: x\r\n");
        const refusedNow = await Promise.race([
          c.closed.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 100)),
        ]);
        if (refusedNow) last = c;
      }
    }
    assert.ok(last, "the total cap was reached");
    const total = answer(last.text());
    assert.equal(total.status, 503);
    assert.match(String(total.body.message), new RegExp(`${TOTAL} connections in total`));
  } finally {
    for (const c of held) c.socket.destroy();
  }
  // Once the sockets are gone, everyone is served again.
  await eventually(
    async () => (await fetch(`${capped.url}/3.0/`).then((r) => r.status)) === 200,
    HANG,
    "service after the attack",
  );
});
