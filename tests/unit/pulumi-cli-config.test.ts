/**
 * The Pulumi CLI checks a stack's config against Pulumi.yaml before it runs the program; a stack
 * it refuses never reaches config/. These tests apply the CLI's rule (scripts/lib/project-config.ts,
 * ported from pulumi/pulumi pkg/workspace/config.go) to every stack file, and check that
 * Pulumi.yaml and the program's own schema agree on what is required.
 */
import assert from "node:assert/strict";
import { testKubeconfig } from "../harness/pki";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { parseStageConfig, STAGES } from "../../config";
import { SECRET_KEYS, stageSchema } from "../../config/schema";
import { applyProjectConfig, type ProjectConfigType, type StackValue, validateProject } from "../../scripts/lib/project-config";
import { edgeKubeconfigStandIns, REQUIRED_SECRET_STAND_INS } from "../../scripts/lib/stand-in-secrets";
import { ROOT } from "../harness/stage";

const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { name: string; config: Record<string, ProjectConfigType> };

/** A stack file's config as the CLI holds it: `secure:` values stay ciphertext (here: a marker). */
function stackFile(stage: string): Record<string, StackValue> {
  const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stage}.yaml`), "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, toStackValue(v)]));
}
function toStackValue(v: unknown): StackValue {
  if (v && typeof v === "object" && "secure" in v) return { value: "[ciphertext]", secure: true, object: false };
  if (v !== null && typeof v === "object") return { value: JSON.stringify(v), secure: false, object: true };
  return { value: String(v), secure: false, object: false };
}
/** What `pulumi config set --secret` stores (the CLI decrypts it for the type check). */
const secure = (v: unknown): StackValue => ({ value: typeof v === "string" ? v : JSON.stringify(v), secure: true, object: typeof v !== "string" });
const plainValue = (v: unknown): StackValue => ({ ...secure(v), secure: false });

/** The secrets every stage needs (README, "Deploying a stage for real", step 4), set with --secret. */
const requiredSecrets = () => Object.fromEntries(Object.entries(REQUIRED_SECRET_STAND_INS).map(([k, v]) => [k, secure(v)]));
const asRaw = (config: Record<string, StackValue>) => Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value]));

describe("the Pulumi CLI's project-config rule", () => {
  describe("as ported (the CLI's own cases and messages)", () => {
    const decl: Record<string, ProjectConfigType> = {
      name: { type: "string" },
      size: { type: "integer", default: 3 },
      token: { type: "string", secret: true },
      tags: { type: "array", items: { type: "string" } },
      loose: { secret: true },
    };
    const ok = { "p:name": plainValue("x"), "p:token": secure("t"), "p:tags": plainValue(["a"]), "p:loose": secure("s") };

    it("accepts a complete stack and fills in defaults as plain values", () => {
      const r = applyProjectConfig("p", "dev", decl, ok);
      assert.equal(r.error, undefined);
      assert.deepEqual(r.config["p:size"], { value: "3", secure: false, object: false });
    });
    it("names every missing key without default, sorted, in one error", () => {
      assert.equal(applyProjectConfig("p", "dev", decl, { "p:token": secure("t") }).error, "Stack 'dev' is missing configuration values 'loose', 'name' and 'tags'");
      assert.equal(applyProjectConfig("p", "dev", { a: {} }, {}).error, "Stack 'dev' is missing configuration value 'a'");
    });
    it("enforces secret only on typed keys", () => {
      assert.equal(applyProjectConfig("p", "dev", decl, { ...ok, "p:token": plainValue("t"), "p:loose": plainValue("x") }).error, "Stack 'dev' with configuration key 'token' must be encrypted as it's secret");
      assert.equal(applyProjectConfig("p", "dev", decl, { ...ok, "p:loose": plainValue("in plaintext") }).error, undefined);
    });
    it("fails a typed secret key with a default whenever the stack lacks it", () => {
      assert.equal(applyProjectConfig("p", "dev", { k: { type: "string", secret: true, default: "" } }, {}).error, "Stack 'dev' with configuration key 'k' must be encrypted as it's secret");
    });
    it("checks types of typed keys", () => {
      assert.equal(applyProjectConfig("p", "dev", decl, { ...ok, "p:tags": plainValue([1]) }).error, "Stack 'dev' with configuration key 'tags' must be of type 'array<string>'");
      assert.equal(applyProjectConfig("p", "dev", { o: { type: "object" } }, { "p:o": plainValue("text") }).error, "Stack 'dev' with configuration key 'o' must be of type 'object'");
      assert.equal(applyProjectConfig("p", "dev", { n: { type: "integer" } }, { "p:n": plainValue("12") }).error, undefined);
    });
    it("validates Pulumi.yaml itself", () => {
      assert.match(validateProject("p", { "aws:region": { default: "x" } }) ?? "", /should not define a default value/);
      assert.match(validateProject("p", { "aws:region": {} }) ?? "", /must provide an attribute 'value'/);
      assert.match(validateProject("p", { a: { type: "array" } }) ?? "", /does not specify the underlying type/);
      assert.match(validateProject("p", { a: { type: "integer", default: "x" } }) ?? "", /not of the expected type 'integer'/);
      assert.equal(validateProject("p", { "pulumi:disable-default-providers": { value: ["kubernetes"] } }), undefined);
    });
  });

  describe("on this project", () => {
    it("Pulumi.yaml passes the CLI's own validation", () => {
      assert.equal(validateProject(project.name, project.config), undefined);
    });

    it("declares every key of the program, requiring exactly what the program requires", () => {
      const problems: string[] = [];
      for (const [key, schema] of Object.entries(stageSchema.shape)) {
        if (key === "region") continue; // alicloud:region, the provider's own key
        const t = project.config[key];
        if (!t) {
          problems.push(`${key}: not declared in Pulumi.yaml`);
          continue;
        }
        const optional = schema.safeParse(undefined).success;
        if (optional && t.default === undefined) problems.push(`${key}: optional in config/schema.ts but the CLI requires it (no default)`);
        if (!optional && t.default !== undefined) problems.push(`${key}: required by config/schema.ts but has a default in Pulumi.yaml`);
      }
      for (const key of Object.keys(SECRET_KEYS)) {
        const t = project.config[key];
        const required = `edp:${key}` in REQUIRED_SECRET_STAND_INS;
        if (!t?.secret) problems.push(`${key}: not declared secret`);
        else if (required && (t.type === undefined || t.default !== undefined)) problems.push(`${key}: required secret must be typed (so the CLI enforces encryption) and have no default`);
        else if (!required && (t.type !== undefined || t.default === undefined)) problems.push(`${key}: optional secret must be untyped with an empty default (a typed secret default fails the CLI)`);
      }
      assert.deepEqual(problems, []);
    });

    it("disables the default Kubernetes provider for every stack", () => {
      for (const stage of STAGES) {
        const { config } = applyProjectConfig(project.name, stage, project.config, stackFile(stage));
        const disabled = JSON.parse(config["pulumi:disable-default-providers"]?.value ?? "[]") as string[];
        assert.ok(disabled.includes("kubernetes") || disabled.includes("*"), stage);
      }
    });

    for (const stage of STAGES) {
      describe(`Pulumi.${stage}.yaml`, () => {
        it("holds no secret in plaintext", () => {
          const file = stackFile(stage);
          const plaintext = Object.entries(project.config)
            .filter(([, t]) => t.secret)
            .map(([k]) => `${project.name}:${k}`)
            .filter((k) => k in file && !file[k].secure);
          assert.deepEqual(plaintext, []);
        });

        it("as committed, is refused only for the secrets the README says to set", () => {
          const { error } = applyProjectConfig(project.name, stage, project.config, stackFile(stage));
          assert.equal(error, `Stack '${stage}' is missing configuration values 'alertingSecrets', 'ddmFiles' and 'dockerPullJson'`);
        });

        it("with those secrets set, passes the CLI, and the program's config accepts what the CLI hands it", () => {
          // Directly bootstrapped edge clusters (testing's lab cluster) need their kubeconfig secret too.
          const file = stackFile(stage);
          const kubeconfigs = edgeKubeconfigStandIns(file["edp:edgeClusters"]?.value);
          const direct: Record<string, StackValue> = Object.keys(kubeconfigs).length > 0 ? { "edp:edgeKubeconfigs": secure(kubeconfigs) } : {};
          const { config, error } = applyProjectConfig(project.name, stage, project.config, { ...file, ...requiredSecrets(), ...direct });
          assert.equal(error, undefined);
          // The runtime tells the program which keys came in encrypted (PULUMI_CONFIG_SECRET_KEYS).
          const secretKeys = Object.entries(config).filter(([, v]) => v.secure).map(([k]) => k);
          const cfg = parseStageConfig({ values: asRaw(config), stack: stage, project: project.name, secretKeys });
          assert.equal(cfg.clusterMode, "create");
          assert.equal(cfg.secrets.clusterKubeconfig, undefined, "the empty default means no kubeconfig");
          assert.equal(cfg.secrets.issuerCa, undefined);
          assert.deepEqual(Object.keys(cfg.secrets.edgeKubeconfigs), Object.keys(kubeconfigs));
        });

        it("refuses the required secrets when set without --secret", () => {
          const { error } = applyProjectConfig(project.name, stage, project.config, {
            ...stackFile(stage),
            ...requiredSecrets(),
            "edp:dockerPullJson": plainValue(REQUIRED_SECRET_STAND_INS["edp:dockerPullJson"]),
          });
          assert.equal(error, `Stack '${stage}' with configuration key 'dockerPullJson' must be encrypted as it's secret`);
        });
      });
    }

    it("accepts an adopted cluster: no edp:cluster, the kubeconfig as a secret, its VPC in edp:existing", () => {
      const file = stackFile("testing");
      delete file["edp:cluster"];
      // The cluster's network is adopted with it (config/existing.ts), so E3 lands in it.
      file["edp:existing"] = toStackValue({ vpc: { id: "vpc-gw8abcdefghij" }, vswitches: { "eu-central-1a": "vsw-gw8abcdefghij", "eu-central-1b": "vsw-gw8abcdefghik" } });
      // A kubeconfig the program accepts (config/secrets.ts parses it as the Vault bootstrap does).
      const kubeconfig = testKubeconfig();
      const { config, error } = applyProjectConfig(project.name, "testing", project.config, { ...file, ...requiredSecrets(), "edp:clusterKubeconfig": secure(kubeconfig), "edp:edgeKubeconfigs": secure(edgeKubeconfigStandIns(file["edp:edgeClusters"]?.value)) });
      assert.equal(error, undefined);
      const secretKeys = Object.entries(config).filter(([, v]) => v.secure).map(([k]) => k);
      const cfg = parseStageConfig({ values: asRaw(config), stack: "testing", project: project.name, secretKeys });
      assert.equal(cfg.clusterMode, "adopt");
    });
  });
});
