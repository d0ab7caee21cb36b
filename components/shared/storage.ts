/**
 * The platform's disk storage class. Every persistent volume of the central cluster names it
 * (the charts' and operators' volume values included): ACK's own classes differ between cluster
 * versions and an adopted cluster may have none, and they delete the cloud disk with its claim.
 */
import type * as k8s from "@pulumi/kubernetes";

export const DISK_STORAGE_CLASS = "edp-disk";

/** Alibaba Cloud ESSD disks are at least 20 GiB; a smaller claim never binds. */
export const MIN_DISK_GB = 20;

/** A volume size in the form Kubernetes and the charts take, never below the disk minimum. */
export const diskSize = (gb: number) => `${Math.max(gb, MIN_DISK_GB)}Gi`;

export function diskStorageClassArgs(labels: Record<string, string> = {}): k8s.storage.v1.StorageClassArgs {
  return {
    metadata: { name: DISK_STORAGE_CLASS, labels },
    provisioner: "diskplugin.csi.alibabacloud.com",
    parameters: { type: "cloud_essd", performanceLevel: "PL1", fsType: "ext4" },
    // The disk outlives its claim, its namespace and its release in every stage: data is
    // deleted by hand after it is saved (README, "What pulumi destroy will and will not delete").
    reclaimPolicy: "Retain",
    allowVolumeExpansion: true,
    // The disk is made in the zone of the node the pod is scheduled to.
    volumeBindingMode: "WaitForFirstConsumer",
  };
}
