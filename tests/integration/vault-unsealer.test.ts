/**
 * The Shamir unsealer, bundled with Alibaba's RPC client as its ConfigMap ships it, runs for real
 * under node (from a directory without node_modules) against a loopback Vault and a loopback KMS
 * that checks Alibaba's RPC signature with a test-side verifier (which reproduces the documented
 * example).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { renderUnsealerScript, UNSEALER_ENV, unsealEncryptionContext } from "../../components/vault/unsealer";
import { readRpcRequest, rpcSignature, rpcSigned } from "../harness/alicloud-signatures";
import { FakeVault } from "../harness/fake-vault";

/** A KMS Decrypt endpoint: verifies the signature and maps ciphertexts to plaintexts. */
class FakeKms {
  decrypts = 0;
  private server?: http.Server;
  constructor(
    private readonly accessKeyId: string,
    private readonly secret: string,
    private readonly plaintexts: Record<string, string>,
    private readonly context: Record<string, string>,
  ) {}
  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      void readRpcRequest(req).then(({ method, params }) => {
        const { Signature: _signature, ...rest } = params;
        const reply = (status: number, json: unknown) => {
          res.writeHead(status, { "Content-Type": "application/json" });
          res.end(JSON.stringify(json));
        };
        if (method !== "POST" || !rpcSigned("POST", params, { accessKeyId: this.accessKeyId, accessKeySecret: this.secret })) {
          return reply(400, { Code: "SignatureDoesNotMatch", Message: "The request signature does not conform to Aliyun standards." });
        }
        if (rest.Action !== "Decrypt" || rest.Version !== "2016-01-20" || rest.SignatureMethod !== "HMAC-SHA1" || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(rest.Timestamp)) {
          return reply(400, { Code: "InvalidParameter", Message: "bad request" });
        }
        const plaintext = this.plaintexts[rest.CiphertextBlob];
        if (plaintext === undefined) return reply(400, { Code: "InvalidCiphertext", Message: "unknown ciphertext" });
        // A ciphertext made with an encryption context decrypts only under the same pairs.
        let context: unknown;
        try {
          context = JSON.parse(rest.EncryptionContext ?? "null");
        } catch {
          context = null;
        }
        if (!isDeepStrictEqual(context, this.context)) return reply(400, { Code: "InvalidCiphertext", Message: "the encryption context does not match the ciphertext's" });
        this.decrypts += 1;
        reply(200, { Plaintext: plaintext, KeyId: "key-mock", RequestId: "req" });
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  stop = () => new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
}

function runUnsealer(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-unsealer-"));
  const script = path.join(dir, "unsealer.js");
  fs.writeFileSync(script, renderUnsealerScript());
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? "", ...env } });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.stderr.on("data", (c) => {
      out += c;
    });
    child.on("close", (code) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, out });
    });
  });
}

describe("Vault Shamir unsealer", () => {
  let vault: FakeVault;
  let kms: FakeKms;
  let dir: string | undefined;
  afterEach(async () => {
    await vault?.stop();
    await kms?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function setUp(sealed: boolean, secretForScript = "kms-secret", joining = false) {
    const keys = ["a2V5LW9uZQ==", "a2V5LXR3bw==", "a2V5LXRocmVl", "a2V5LWZvdXI=", "a2V5LWZpdmU="];
    vault = new FakeVault({ initialized: !joining, joinsOnUnseal: joining, sealed, keys, threshold: 3 });
    const plaintexts = Object.fromEntries(keys.slice(0, 3).map((k, i) => [`ciphertext-${i}`, k]));
    kms = new FakeKms("LTAI5tUnseal", "kms-secret", plaintexts, unsealEncryptionContext("testing"));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edp-unsealer-data-"));
    const ciphertexts = path.join(dir, "ciphertexts.json");
    fs.writeFileSync(ciphertexts, JSON.stringify(Object.keys(plaintexts)));
    const env = {
      [UNSEALER_ENV.servers]: await vault.start(),
      [UNSEALER_ENV.kmsEndpoint]: await kms.start(),
      [UNSEALER_ENV.accessKeyId]: "LTAI5tUnseal",
      [UNSEALER_ENV.accessKeySecret]: secretForScript,
      [UNSEALER_ENV.ciphertextsFile]: ciphertexts,
      [UNSEALER_ENV.encryptionContext]: JSON.stringify(unsealEncryptionContext("testing")),
      [UNSEALER_ENV.once]: "true",
    };
    return { env, keys };
  }

  it("the reference signer reproduces Alibaba's documented signature example", () => {
    const params = {
      Timestamp: "2016-02-23T12:46:24Z",
      Format: "XML",
      AccessKeyId: "testid",
      Action: "DescribeRegions",
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
      Version: "2014-05-26",
      SignatureVersion: "1.0",
    };
    assert.equal(rpcSignature("GET", params, "testsecret"), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
  });

  it("decrypts the key ciphertexts with KMS and unseals a sealed Vault", async () => {
    const { env } = await setUp(true);
    const r = await runUnsealer(env);
    assert.equal(r.code, 0, r.out);
    assert.equal(vault.state.sealed, false);
    assert.equal(kms.decrypts, 3);
    assert.match(r.out, /unsealed/);
  });

  it("leaves an unsealed Vault alone without asking KMS", async () => {
    const { env } = await setUp(false);
    const r = await runUnsealer(env);
    assert.equal(r.code, 0, r.out);
    assert.equal(kms.decrypts, 0);
    assert.ok(!vault.state.log.includes("PUT /v1/sys/unseal"));
  });

  it("fails visibly and unseals nothing when KMS rejects its credentials, without logging key material", async () => {
    const { env, keys } = await setUp(true, "wrong-secret");
    const r = await runUnsealer(env);
    assert.equal(r.code, 1);
    assert.match(r.out, /KMS Decrypt failed: HTTP 400 SignatureDoesNotMatch/);
    assert.equal(vault.state.sealed, true);
    for (const k of [...keys, "wrong-secret"]) assert.ok(!r.out.includes(k));
  });

  it("presents the encryption context the ciphertexts were made with (KMS refuses another)", async () => {
    const { env } = await setUp(true);
    const r = await runUnsealer({ ...env, [UNSEALER_ENV.encryptionContext]: JSON.stringify(unsealEncryptionContext("staging")) });
    assert.equal(r.code, 1);
    assert.match(r.out, /KMS Decrypt failed: HTTP 400 InvalidCiphertext/);
    assert.equal(vault.state.sealed, true);
    assert.equal(kms.decrypts, 0);
  });

  it("reports a Vault that stays sealed because the ciphertexts hold fewer keys than the threshold", async () => {
    const { env } = await setUp(true);
    const file = env[UNSEALER_ENV.ciphertextsFile];
    fs.writeFileSync(file, JSON.stringify(["ciphertext-0"]));
    const r = await runUnsealer(env);
    assert.equal(r.code, 1);
    assert.match(r.out, /still sealed after 1 key\(s\)/);
    assert.equal(vault.state.sealed, true);
  });

  it("unseals a standby that has not joined raft yet, so that it joins", async () => {
    const { env } = await setUp(true, "kms-secret", true);
    const r = await runUnsealer(env);
    assert.equal(r.code, 0, r.out);
    assert.equal(vault.state.sealed, false);
    assert.equal(vault.state.initialized, true);
  });
});
