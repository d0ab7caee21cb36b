/**
 * A throwaway PKI made with the openssl CLI for the E3 integration tests: a device CA with an
 * `openssl ca` database (so certificates can be revoked and CRLs issued), another CA, a server
 * certificate, and client certificates that are valid, revoked, expired or foreign.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface Issued {
  cert: string;
  key: string;
}

const openssl = (args: string[], cwd: string) => execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] }).toString();

export class TestCa {
  readonly cert: string;
  readonly key: string;
  private readonly conf: string;

  constructor(
    readonly dir: string,
    readonly name: string,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.cert = path.join(dir, "ca.pem");
    this.key = path.join(dir, "ca.key");
    this.conf = path.join(dir, "ca.cnf");
    fs.writeFileSync(path.join(dir, "index.txt"), "");
    fs.writeFileSync(path.join(dir, "crlnumber"), "01\n");
    fs.mkdirSync(path.join(dir, "issued"), { recursive: true });
    fs.writeFileSync(
      this.conf,
      [
        "[ca]",
        "default_ca = this",
        "[this]",
        `dir = ${dir}`,
        "database = $dir/index.txt",
        "certificate = $dir/ca.pem",
        "private_key = $dir/ca.key",
        "new_certs_dir = $dir/issued",
        "crlnumber = $dir/crlnumber",
        "rand_serial = yes",
        "default_md = sha256",
        "default_days = 30",
        "default_crl_days = 2",
        "policy = any",
        "unique_subject = no",
        "copy_extensions = copy",
        "[any]",
        "organizationalUnitName = optional",
        "commonName = supplied",
        "[client]",
        "basicConstraints = critical,CA:false",
        "keyUsage = critical,digitalSignature",
        "extendedKeyUsage = clientAuth",
        "[server]",
        "basicConstraints = critical,CA:false",
        "keyUsage = critical,digitalSignature",
        "extendedKeyUsage = serverAuth",
        "",
      ].join("\n"),
    );
    openssl(
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", this.key, "-out", this.cert, "-subj", `/CN=${name}`, "-days", "30",
        "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
      dir,
    );
  }

  /** Issues a certificate; `validity` sets explicit dates (YYYYMMDDHHMMSSZ) for expired ones. */
  issue(cn: string, kind: "client" | "server", opts: { dnsNames?: string[]; validity?: { start: string; end: string }; ou?: string } = {}): Issued {
    const key = path.join(this.dir, `${cn}.key`);
    const csr = path.join(this.dir, `${cn}.csr`);
    const cert = path.join(this.dir, `${cn}.pem`);
    const san = opts.dnsNames?.length ? ["-addext", `subjectAltName=${opts.dnsNames.map((d) => (/^[0-9.]+$/.test(d) ? `IP:${d}` : `DNS:${d}`)).join(",")}`] : [];
    openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", `${opts.ou ? `/OU=${opts.ou}` : ""}/CN=${cn}`, ...san], this.dir);
    const dates = opts.validity ? ["-startdate", opts.validity.start, "-enddate", opts.validity.end] : [];
    openssl(["ca", "-batch", "-config", this.conf, "-extensions", kind, "-in", csr, "-out", cert, "-notext", ...dates], this.dir);
    fs.chmodSync(key, 0o644);
    return { cert, key };
  }

  revoke(issued: Issued): void {
    openssl(["ca", "-config", this.conf, "-revoke", issued.cert], this.dir);
  }

  /** Writes a fresh CRL; `seconds` makes one that expires soon, `lastUpdate` (YYYYMMDDHHMMSSZ) one from another time. */
  crl(out: string, seconds?: number, lastUpdate?: string): string {
    openssl(
      ["ca", "-config", this.conf, "-gencrl", "-out", out, ...(seconds === undefined ? [] : ["-crlsec", String(seconds)]), ...(lastUpdate ? ["-crl_lastupdate", lastUpdate] : [])],
      this.dir,
    );
    return fs.readFileSync(out, "utf8");
  }
}
