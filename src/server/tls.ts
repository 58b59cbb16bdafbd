// HTTPS at three levels: off, a self-signed certificate kept in the data folder, or CA-signed files reloaded on SIGHUP.

import { createPrivateKey, webcrypto, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import type { SecureContextOptions } from "node:tls";

export const TLS_MODES = ["off", "self-signed", "files"] as const;
export type TlsMode = (typeof TLS_MODES)[number];

export interface TlsSettings {
  mode: TlsMode;
  /** `files` mode: PEM paths. `chain` holds the intermediates, appended to the certificate. */
  cert?: string | null;
  key?: string | null;
  chain?: string | null;
  /** Extra names (DNS or IP) the self-signed certificate must cover, besides the listen address. */
  names?: readonly string[];
}

/** What the server listens with. */
export interface TlsMaterial {
  cert: string;
  key: string;
  /** The certificate file clients must trust (self-signed mode), or null when a public CA signs it. */
  trustFile: string | null;
}

export class TlsError extends Error {}

/** Self-signed certificates live this long, and are renewed at start when fewer days are left. */
const VALID_DAYS = 825;
const RENEW_DAYS = 30;
const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** Where the self-signed pair is kept inside the data folder. */
export function selfSignedPaths(home: string): { dir: string; cert: string; key: string } {
  const dir = join(home, "tls");
  return { dir, cert: join(dir, "self-signed.crt"), key: join(dir, "self-signed.key") };
}

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]", ""]);

/** The names a certificate must cover for a server listening on `host`. */
export function namesFor(host: string, extra: readonly string[] = []): string[] {
  const names = new Set<string>(["localhost", "127.0.0.1", "::1"]);
  const h = host.replace(/^\[|\]$/g, "");
  if (WILDCARDS.has(h)) {
    // Listening everywhere: cover this machine's name and every address it has.
    names.add(hostname());
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) names.add(a.address.replace(/%.*$/, ""));
    }
  } else names.add(h);
  for (const n of extra) names.add(n);
  return [...names];
}

/** The DNS names and IP addresses a certificate covers, in `namesFor`'s spelling. */
export function certificateNames(pem: string): Set<string> {
  const san = new X509Certificate(pem).subjectAltName ?? "";
  const out = new Set<string>();
  for (const part of san.split(/,\s*/)) {
    const m = /^(DNS|IP Address):(.*)$/.exec(part.trim());
    if (m) out.add(m[2]!.toLowerCase());
  }
  return out;
}

const normalize = (name: string): string => {
  if (isIP(name) === 6) {
    // Node prints IPv6 SANs expanded and in upper case; compare the canonical short form.
    return new URL(`http://[${name}]/`).hostname.replace(/^\[|\]$/g, "").toLowerCase();
  }
  return name.toLowerCase();
};

function covers(pem: string, names: readonly string[]): boolean {
  const have = new Set([...certificateNames(pem)].map(normalize));
  return names.every((n) => have.has(normalize(n)));
}

/** Create a self-signed certificate (ECDSA P-256) for the given names. */
export async function createSelfSigned(
  names: readonly string[],
  now: Date,
): Promise<{ cert: string; key: string }> {
  // Loaded only when a certificate is made; the library needs a Reflect polyfill loaded first.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  const crypto = webcrypto;
  const keys = (await crypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const san = names.map((n) =>
    isIP(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n },
  );
  const cn = names.find((n) => !isIP(n)) ?? "gridq";
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
        .toString("hex")
        .replace(/^[89a-f]/, "1"),
      name: `CN=${cn}, O=gridq self-signed`,
      notBefore: new Date(now.getTime() - 3600_000),
      notAfter: new Date(now.getTime() + VALID_DAYS * 86400_000),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        // Both a trust anchor (clients put this file in their CA bundle) and the server's certificate.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(san),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString("pem").trimEnd().concat("\n"), key };
}

/** Write a file by rename, so a reader never sees half of it; `mode` applies from the start. */
function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/**
 * The self-signed pair of the data folder: reused when it exists, still valid for a while and
 * covers every name; created (or renewed) otherwise. The key is written 0600.
 */
export async function ensureSelfSigned(
  home: string,
  names: readonly string[],
  now: Date,
): Promise<{ cert: string; key: string; certFile: string; created: boolean }> {
  const p = selfSignedPaths(home);
  if (existsSync(p.cert) && existsSync(p.key)) {
    const cert = readFileSync(p.cert, "utf8");
    const key = readFileSync(p.key, "utf8");
    try {
      const x = new X509Certificate(cert);
      const fresh = new Date(x.validTo).getTime() - now.getTime() > RENEW_DAYS * 86400_000;
      if (fresh && covers(cert, names) && x.checkPrivateKey(createPrivateKey(key))) {
        return { cert, key, certFile: p.cert, created: false };
      }
    } catch {
      // An unreadable pair is replaced below, like an expired one.
    }
  }
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const made = await createSelfSigned(names, now);
  // Key first: a reader that sees the new certificate finds its key already in place.
  writeAtomic(p.key, made.key, 0o600);
  writeAtomic(p.cert, made.cert, 0o644);
  return { ...made, certFile: p.cert, created: true };
}

/** Read a CA-signed certificate, its key and chain; checks they parse and belong together. */
export function loadCertificateFiles(s: Pick<TlsSettings, "cert" | "key" | "chain">): {
  cert: string;
  key: string;
} {
  if (!s.cert || !s.key) throw new TlsError("tls: files mode needs both tls.cert and tls.key");
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      throw new TlsError(`tls: cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  };
  const cert = read("certificate", s.cert);
  const key = read("key", s.key);
  const chain = s.chain ? read("chain", s.chain) : "";
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new TlsError(`tls: ${s.cert} is not a PEM certificate`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TlsError(`tls: ${s.key} is not a PEM private key (or it is encrypted)`);
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new TlsError(`tls: the key ${s.key} does not match ${s.cert}`);
  if (chain && !chain.includes("-----BEGIN CERTIFICATE-----")) {
    throw new TlsError(`tls: ${s.chain} holds no PEM certificate`);
  }
  // Node sends the whole `cert` string as the chain: leaf first, then the intermediates.
  const full = chain && !cert.includes(chain.trim()) ? `${cert.trimEnd()}\n${chain.trimStart()}` : cert;
  return { cert: full, key };
}

/** Certificate and key for the configured level, or null for plain HTTP. */
export async function loadTls(
  settings: TlsSettings,
  home: string,
  host: string,
  now: Date,
): Promise<TlsMaterial | null> {
  switch (settings.mode) {
    case "off":
      return null;
    case "self-signed": {
      const r = await ensureSelfSigned(home, namesFor(host, settings.names), now);
      return { cert: r.cert, key: r.key, trustFile: r.certFile };
    }
    case "files":
      return { ...loadCertificateFiles(settings), trustFile: null };
  }
}

/** The part of a TLS server that swaps certificates for new connections. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * Re-read the certificate files and install them for new handshakes. Open connections keep
 * the context they were made with, so nothing is dropped. On error the old pair stays.
 */
export function reloadCertificates(
  server: SecureContextTarget,
  settings: TlsSettings,
  log?: { info(o: object, m: string): void; error(o: object, m: string): void },
): { ok: true; notAfter: string } | { ok: false; error: string } {
  try {
    const { cert, key } = loadCertificateFiles(settings);
    server.setSecureContext({ cert, key });
    const notAfter = new X509Certificate(cert).validTo;
    log?.info({ notAfter, cert: settings.cert }, "tls: certificate reloaded");
    return { ok: true, notAfter };
  } catch (e) {
    const error = (e as Error).message;
    log?.error({ error }, "tls: reload failed; the previous certificate stays in use");
    return { ok: false, error };
  }
}

/** The URL clients use: scheme by TLS level; a wildcard listen address becomes this host's name. */
export function serverUrl(host: string, port: number, mode: TlsMode): string {
  const h = WILDCARDS.has(host) ? hostname() : host;
  const shown = isIP(h.replace(/^\[|\]$/g, "")) === 6 ? `[${h.replace(/^\[|\]$/g, "")}]` : h;
  return `${mode === "off" ? "http" : "https"}://${shown}:${port}`;
}
