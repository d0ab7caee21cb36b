/** What every part of the foundation needs to register its resources under the component. */
import type * as pulumi from "@pulumi/pulumi";
import type { StageConfig } from "../../config";

export interface Scope {
  /** The component's name; child names derive from it. */
  name: string;
  /** The Foundation component: parent of every child. */
  parent: pulumi.Resource;
  cfg: StageConfig;
  /** Tags put on every taggable cloud resource. */
  tags: Record<string, string>;
}
