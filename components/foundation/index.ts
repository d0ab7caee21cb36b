export { type BucketPlan, backupLifecycleRules, bucketNameProblem, bucketPlans } from "./buckets";
export { ingressAddressOf } from "./dns";
export { clusterIngressRules, type IngressRule } from "./firewall";
export { Foundation, type FoundationArgs } from "./foundation";
export { backupReaderPolicy, backupWriterPolicy, edgeClusterReadPolicy, edgeClusterStatusWriterPolicy, type PrefixAccess, renderPolicy, vaultSnapshotWriterPolicy, vaultUnsealPolicy } from "./policies";
export { dnsRecordPlan, E3_NAMES, PLATFORM_INTERNAL_NAMES, PLATFORM_PUBLIC_NAMES, type RecordPlan } from "./records";
export { foundationProblems } from "./validate";
