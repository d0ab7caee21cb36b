export { PlatformNetworkPolicies, type PlatformNetworkPoliciesArgs } from "./network-policies";
export { type NetworkPolicyInput, NODE_LOCAL_DNS, networkPolicies, PEER_LABELS } from "./policies";
export { type Endpoint, type PolicyLike, trafficAllowed, UnsupportedPolicyError } from "./evaluate";
