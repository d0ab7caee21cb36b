/**
 * Plausible outputs for resources and function calls under the mock runtime. A mock stands in
 * for the cloud API, never for what the program computes: values are deterministic (derived
 * from the resource name) so that two synth runs diff cleanly.
 *
 * Components add an entry here when the program reads an output the cloud would compute.
 */
import { createHash } from "node:crypto";

export const hex = (seed: string, length = 16) => createHash("sha256").update(seed).digest("hex").slice(0, length);

/** A stable RFC 5737 documentation address for a seed: never routable, never a real host. */
export const docIp = (seed: string) => `203.0.113.${(Number.parseInt(hex(seed, 4), 16) % 250) + 2}`;
/** A stable private address inside the stack's VPC range. */
export const privateIp = (seed: string) => `10.0.${Number.parseInt(hex(seed, 2), 16) % 250}.${(Number.parseInt(hex(`${seed}x`, 2), 16) % 250) + 2}`;

// The label is part of the seed: a key and a certificate of the same name must not share a body.
const mockPem = (label: string, seed: string) => `-----BEGIN ${label}-----\nMOCK${hex(`${label}/${seed}`, 48)}\n-----END ${label}-----\n`;

/** A CA PEM in the shape kubeconfigs carry it (the config checks it is one); its content is a stand-in. */
const MOCK_CA_DATA = Buffer.from("-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n").toString("base64");

export const mockKubeconfig = (cluster: string) =>
  [
    "apiVersion: v1",
    "kind: Config",
    `clusters: [{name: ${cluster}, cluster: {server: "https://${docIp(cluster)}:6443", certificate-authority-data: ${MOCK_CA_DATA}}}]`,
    `users: [{name: ${cluster}-admin, user: {token: mock-${hex(cluster, 24)}}}]`,
    `contexts: [{name: ${cluster}, context: {cluster: ${cluster}, user: ${cluster}-admin}}]`,
    `current-context: ${cluster}`,
    "",
  ].join("\n");

type Props = Record<string, unknown>;
type OutputFn = (name: string, inputs: Props) => Props;

/** Outputs the cloud computes, by resource type token. Inputs are echoed back as well. */
export const RESOURCE_OUTPUTS: Record<string, OutputFn> = {
  "random:index/randomPassword:RandomPassword": (name, i) => ({
    result: `Mock${hex(name, Math.max(8, Number(i.length ?? 24) - 4))}`.slice(0, Number(i.length ?? 24)),
    bcryptHash: `$2a$10$${hex(`${name}bcrypt`, 53)}`,
  }),
  // 32 bytes as WireGuard keys use them (components/sites): base64 and hex of the same bytes.
  "random:index/randomBytes:RandomBytes": (name, i) => {
    const bytes = Buffer.from(createHash("sha256").update(`bytes/${name}`).digest().subarray(0, Number(i.length ?? 32)));
    return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
  },
  "random:index/randomId:RandomId": (name) => ({ hex: hex(name, 16), b64Url: hex(name, 11), dec: "1234567890" }),
  "random:index/randomString:RandomString": (name, i) => ({ result: hex(name, Number(i.length ?? 16)) }),
  "random:index/randomUuid:RandomUuid": (name) => {
    const h = hex(name, 32);
    return { result: `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}` };
  },
  "tls:index/privateKey:PrivateKey": (name) => ({
    privateKeyPem: mockPem("PRIVATE KEY", name),
    privateKeyOpenssh: mockPem("OPENSSH PRIVATE KEY", name),
    publicKeyPem: mockPem("PUBLIC KEY", name),
    publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${hex(name, 43)} mock`,
    publicKeyFingerprintSha256: `SHA256:${hex(name, 43)}`,
  }),
  "tls:index/selfSignedCert:SelfSignedCert": (name) => ({ certPem: mockPem("CERTIFICATE", name) }),
  "tls:index/locallySignedCert:LocallySignedCert": (name) => ({ certPem: mockPem("CERTIFICATE", name) }),
  "tls:index/certRequest:CertRequest": (name) => ({ certRequestPem: mockPem("CERTIFICATE REQUEST", name) }),
  "alicloud:vpc/network:Network": () => ({ routeTableId: "vtb-mock", routerId: "vrt-mock" }),
  "alicloud:ecs/eipAddress:EipAddress": (name) => ({ ipAddress: docIp(name) }),
  "alicloud:ecs/instance:Instance": (name) => ({ privateIp: privateIp(name), publicIp: "" }),
  "alicloud:ram/accessKey:AccessKey": (name) => ({ secret: `mock-secret-${hex(name, 30)}`, status: "Active" }),
  "alicloud:kms/key:Key": (name) => ({ arn: `acs:kms:eu-central-1:1234567890123456:key/key-${hex(name, 24)}` }),
  "alicloud:cs/managedKubernetes:ManagedKubernetes": (name, i) => {
    const id = `c${hex(`${name}cluster`, 32)}`;
    // With RRSA on, ACK registers an OIDC provider named ack-rrsa-<cluster id> in RAM.
    const rrsaMetadata = i.enableRrsa
      ? {
          enabled: true,
          ramOidcProviderName: `ack-rrsa-${id}`,
          ramOidcProviderArn: `acs:ram::1234567890123456:oidc-provider/ack-rrsa-${id}`,
          rrsaOidcIssuerUrl: `https://oidc-ack-eu-central-1.oss-eu-central-1.aliyuncs.com/${id}`,
        }
      : { enabled: false, ramOidcProviderName: "", ramOidcProviderArn: "", rrsaOidcIssuerUrl: "" };
    return { vpcId: `vpc-${hex(`${name}vpc`, 17)}`, slbInternet: docIp(name), slbId: `lb-${hex(`${name}apiserver`, 20)}`, rrsaMetadata };
  },
  "alicloud:ram/role:Role": (_name, i) => ({ arn: `acs:ram::1234567890123456:role/${String(i.roleName ?? i.name ?? "role").toLowerCase()}`, roleId: "3001234567890123456" }),
  "alicloud:vpc/natGateway:NatGateway": (name) => ({ snatTableIds: `stb-${hex(`${name}snat`, 17)}`, forwardTableIds: `ftb-${hex(`${name}fwd`, 17)}`, status: "Available" }),
  "alicloud:vpc/switch:Switch": () => ({ status: "Available" }),
  "alicloud:ecs/securityGroup:SecurityGroup": () => ({ securityGroupType: "normal" }),
  "alicloud:cs/nodePool:NodePool": (name) => ({ nodePoolId: `np${hex(`${name}np`, 30)}`, scalingGroupId: `asg-${hex(`${name}asg`, 17)}` }),
  "alicloud:oss/bucket:Bucket": (_name, i) => ({
    extranetEndpoint: "oss-eu-central-1.aliyuncs.com",
    intranetEndpoint: "oss-eu-central-1-internal.aliyuncs.com",
    location: "oss-eu-central-1",
    owner: "1234567890123456",
    creationDate: "2026-01-01",
    bucket: i.bucket,
  }),
  "alicloud:pvtz/zone:Zone": () => ({ recordCount: 0, isPtr: false }),
  "alicloud:ram/user:User": () => ({ createTime: "2026-01-01T00:00:00Z" }),
  "alicloud:ram/policy:Policy": () => ({ type: "Custom", defaultVersion: "v1", attachmentCount: 1 }),
};

/** Results of function calls (invokes), by token. */
export const CALL_RESULTS: Record<string, (inputs: Props) => Props> = {
  "alicloud:cs/getClusterCredential:getClusterCredential": (i) => ({
    kubeConfig: mockKubeconfig(String(i.clusterId ?? "cluster")),
    certificateAuthority: { clusterCert: "TU9DSw==", clientCert: "TU9DSw==", clientKey: "TU9DSw==" },
  }),
  "alicloud:index/getAccount:getAccount": () => ({ id: "1234567890123456" }),
  // The stage's existing ingress SLB: found by id, with a public address derived from the id.
  "alicloud:slb/getApplicationLoadBalancers:getApplicationLoadBalancers": (i) => {
    const ids = Array.isArray(i.ids) ? i.ids.map(String) : [];
    const balancers = ids.map((id) => ({ id, loadBalancerId: id, loadBalancerName: `ingress-${id}`, address: docIp(id), addressType: "internet", status: "active" }));
    return { id: "eu-central-1", ids, names: balancers.map((b) => b.loadBalancerName), balancers, slbs: [], totalCount: balancers.length };
  },
  // An instance looked up by id: the cloud answers with its private address.
  "alicloud:ecs/getInstances:getInstances": (i) => {
    const ids = Array.isArray(i.ids) ? i.ids.map(String) : [];
    return { ids, names: ids, instances: ids.map((id) => ({ id, name: id, privateIp: privateIp(id), status: "Running" })), totalCount: ids.length };
  },
  "alicloud:index/getRegions:getRegions": () => ({ ids: ["eu-central-1"], regions: [{ id: "eu-central-1", localName: "Frankfurt" }] }),
  "alicloud:ecs/getImages:getImages": (i) => ({
    ids: ["debian_12_10_x64_20G_alibase_20250610.vhd"],
    images: [{ id: "debian_12_10_x64_20G_alibase_20250610.vhd", name: String(i.nameRegex ?? "debian_12"), osType: "linux" }],
  }),
};

/** A cloud-like id for a resource: a prefix from its type, and a hash of its name. */
export function mockId(type: string, name: string): string {
  const short = type.split(":").pop()?.toLowerCase().slice(0, 6) ?? "res";
  return `${short}-${hex(`${type}/${name}`, 17)}`;
}

/** A token in CloudCore's format (<sha256 of its CA, hex>.<HS256 JWT>); the Kubernetes API stands behind it. */
export const mockKubeEdgeToken = (name: string) => `${hex(`${name}/ca`, 64)}.eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${hex(`${name}/claims`, 40)}.${hex(`${name}/sig`, 43)}`;

/** Mock unseal/recovery keys of the Vault bootstrap (the Vault init API stands behind it); tests look for them. */
export const mockVaultKeys = (name: string, shares: number) => Array.from({ length: shares }, (_, i) => `bW9jay12YXVsdC1rZXk${hex(`${name}/${i}`, 32)}`);

RESOURCE_OUTPUTS["alicloud:kms/ciphertext:Ciphertext"] = (name) => ({ ciphertextBlob: `MockKmsCiphertext${hex(`${name}/blob`, 40)}` });
// Dynamic resources share one type token; each answers by the `kind` its inputs carry.
RESOURCE_OUTPUTS["pulumi-nodejs:dynamic:Resource"] = (name, i) =>
  i.kind === "edp:vault:bootstrap"
    ? // An adopted Vault answers with the keys it was given (bootstrap-provider.ts firstRunStart); a new one with its init's keys.
      Array.isArray(i.adoptedKeys)
      ? { keys: i.adoptedKeys, initialisedAt: "adopted" }
      : { keys: mockVaultKeys(name, Number(i.shares ?? 5)), initialisedAt: "2026-01-01T00:00:00.000Z" }
    : i.kind === "edp:kubeedge:token"
      ? { token: mockKubeEdgeToken(name) }
      : {};
// A new classic SLB's address (KubeEdge's CloudCore has a dedicated internet one).
// The intranet load balancer the foundation creates gets a private address, as the cloud allocates one.
RESOURCE_OUTPUTS["alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer"] = (name, i) => ({
  address: i.addressType === "intranet" ? privateIp(name) : docIp(name),
  addressType: i.addressType ?? "internet",
  status: "active",
});
