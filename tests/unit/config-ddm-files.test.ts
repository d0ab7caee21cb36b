import assert from "node:assert/strict";
import { ConfigError, DDM_GPG_VARIABLES, parseStageConfig } from "../../config";
import { stageRawConfig } from "../harness/config";
import { FAKE_SECRETS } from "../harness/stage";

const parse = (ddmFiles: unknown) => parseStageConfig(stageRawConfig("staging", { "edp:ddmFiles": ddmFiles }));
const problems = (ddmFiles: unknown): string[] => {
  try {
    parse(ddmFiles);
    return [];
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems.map((p) => `${p.key}: ${p.message}`);
  }
};

describe("edp:ddmFiles (secret) rules", () => {
  it("accepts DAIM's GPG values with or without the SSH pair", () => {
    assert.deepEqual(problems(FAKE_SECRETS.ddmFiles), []);
    assert.deepEqual(problems({ ...FAKE_SECRETS.ddmFiles, DDM_SSH_PRIVATE: "k", DDM_SSH_PUB: "p" }), []);
  });

  it("names each missing GPG value", () => {
    const { DDM_KEY2: _k2, DDM_TRUSTDB: _t, ...rest } = FAKE_SECRETS.ddmFiles;
    const found = problems(rest);
    assert.equal(found.length, 2);
    assert.match(found[0], /^edp:ddmFiles\.DDM_KEY2: is missing/);
    assert.match(found[1], /^edp:ddmFiles\.DDM_TRUSTDB: is missing/);
  });

  it("refuses half an SSH pair and unknown variables, without echoing values", () => {
    const found = problems({ ...FAKE_SECRETS.ddmFiles, DDM_SSH_PUB: "ssh-ed25519 SECRETVALUE", DDM_EXTRA: "SECRETVALUE" });
    assert.ok(found.some((p) => p.startsWith("edp:ddmFiles.DDM_SSH_PUB: is set without its pair")));
    assert.ok(found.some((p) => p.startsWith("edp:ddmFiles.DDM_EXTRA: is not a datadirectormangement-files variable")));
    assert.ok(found.every((p) => !p.includes("SECRETVALUE")));
  });

  it("lists every GPG variable of the manual", () => {
    assert.deepEqual([...DDM_GPG_VARIABLES], ["DDM_REV", "DDM_KEY1", "DDM_KEY2", "DDM_GPG_CONF", "DDM_PASSPHRASE", "DDM_PUBRING", "DDM_TRUSTDB"]);
  });
});
