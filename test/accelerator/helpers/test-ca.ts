// A throwaway certificate authority made with the openssl CLI: root, intermediate, and server leaves.

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const openssl = (args: string[], cwd: string) => execFileSync("openssl", args, { cwd, stdio: "pipe" });

export interface TestCa {
  dir: string;
  /** The root certificate clients trust. */
  rootCert: string;
  /** The intermediate certificate: the chain a server must send. */
  chainFile: string;
  /** Issue a leaf for 127.0.0.1/localhost signed by the intermediate; returns its paths. */
  issue(name: string): { cert: string; key: string };
}

/** Root CA -> intermediate CA -> leaves, as a public CA would issue them. */
export function makeTestCa(dir: string): TestCa {
  const ext = join(dir, "ext.cnf");
  writeFileSync(
    ext,
    [
      "[ca]",
      "basicConstraints = critical,CA:TRUE",
      "keyUsage = critical,keyCertSign,cRLSign",
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid:always",
      "[leaf]",
      "basicConstraints = critical,CA:FALSE",
      "keyUsage = critical,digitalSignature",
      "extendedKeyUsage = serverAuth",
      "subjectAltName = IP:127.0.0.1,DNS:localhost",
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid:always",
      "",
    ].join("\n"),
  );
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl(
    [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "root.key",
      "-out",
      "root.crt",
      "-days",
      "30",
      "-subj",
      "/CN=gridq test root",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  openssl(
    ["req", ...ec, "-keyout", "inter.key", "-out", "inter.csr", "-subj", "/CN=gridq test intermediate"],
    dir,
  );
  openssl(
    [
      "x509",
      "-req",
      "-in",
      "inter.csr",
      "-CA",
      "root.crt",
      "-CAkey",
      "root.key",
      "-CAcreateserial",
      "-out",
      "inter.crt",
      "-days",
      "30",
      "-extfile",
      ext,
      "-extensions",
      "ca",
    ],
    dir,
  );
  return {
    dir,
    rootCert: join(dir, "root.crt"),
    chainFile: join(dir, "inter.crt"),
    issue(name) {
      openssl(["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
      openssl(
        [
          "x509",
          "-req",
          "-in",
          `${name}.csr`,
          "-CA",
          "inter.crt",
          "-CAkey",
          "inter.key",
          "-CAcreateserial",
          "-out",
          `${name}.crt`,
          "-days",
          "30",
          "-extfile",
          ext,
          "-extensions",
          "leaf",
        ],
        dir,
      );
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    },
  };
}
