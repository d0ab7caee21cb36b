/**
 * The platform's CrossGuard policy pack: `pulumi preview --policy-pack policy` (see README,
 * "Reviewing a change"). Each rule of policy/rules.ts is one mandatory policy; the stage is the
 * stack's name, read from the resource's URN.
 */
import { PolicyPack, type ResourceValidationPolicy } from "@pulumi/policy";
import { RULES } from "./rules";
import { contextFor, stackOfUrn } from "./stage-context";

const policies: ResourceValidationPolicy[] = RULES.map((rule) => ({
  name: rule.name,
  description: rule.description,
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const ctx = contextFor(stackOfUrn(args.urn));
    for (const message of rule.check({ type: args.type, name: args.name, props: args.props as Record<string, unknown>, protect: args.opts.protect }, ctx)) reportViolation(message);
  },
}));

new PolicyPack("edp-platform", { policies });
