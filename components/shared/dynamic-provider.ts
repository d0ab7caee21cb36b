/**
 * Dynamic resources whose provider reaches Pulumi as a bundle of its module. The engine runs
 * every `pulumi-nodejs:dynamic:Resource` in @pulumi/pulumi's dynamic-provider host, which loads
 * the resource's `__provider` input as a CommonJS module and calls its `handler()` for the
 * provider object (cmd/dynamic-provider, getProvider). `pulumi.dynamic.Resource` makes that text
 * by serialising the live provider object with everything its closure captures, through an
 * inspector session and the TypeScript compiler's parser. That took about 0.7 s of CPU in every
 * run (five providers), and the session it opens enables V8's debugger and stays connected for
 * the rest of the run, which cost another 1-3 s of CPU at 1,000 edge clusters (docs/scale.md).
 *
 * Here esbuild bundles the provider's module and what it imports from this program into that
 * module text instead, libraries left as `require`s that the host resolves from the project's
 * node_modules, as the serialiser leaves them too. The text depends only on the code, not on any
 * value of the run (the stack's configuration cannot end up in the state through a captured
 * variable), and bundles are kept between runs by components/shared/bundle.ts. A provider
 * module lives apart from its resource class and imports `@pulumi/pulumi` for its types only (the
 * SDK's `log` module excepted), so the bundle holds the provider's code and none of the program's
 * registration. tests/integration/dynamic-providers.test.ts runs every stage's providers in the host.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { bundleScript } from "./bundle";

/** The type of every dynamic resource, as `pulumi.dynamic.Resource` registers it. */
export const DYNAMIC_RESOURCE_TYPE = "pulumi-nodejs:dynamic:Resource";

/** A provider object exported by a module of this program. */
export interface ProviderModule {
  /** Absolute path of the module. */
  file: string;
  /** Name of its export that is the provider (a pulumi.dynamic.ResourceProvider). */
  name: string;
}

/** The `__provider` text: the module bundled, with a handler that returns the provider. */
export function dynamicProviderCode(provider: ProviderModule): string {
  if (!/^[A-Za-z_$][\w$]*$/.test(provider.name)) throw new Error(`dynamic provider export name ${JSON.stringify(provider.name)} is not an identifier`);
  const contents = `import { ${provider.name} as provider } from ${JSON.stringify(`./${path.basename(provider.file)}`)};\nexport const handler = () => provider;\n`;
  return bundleScript({ contents, resolveDir: path.dirname(provider.file), name: `${provider.name}.js` }, [], undefined, "external");
}

/** What `pulumi.dynamic.Resource` registers, with the provider's code from dynamicProviderCode. */
export class BundledDynamicResource extends pulumi.CustomResource {
  constructor(provider: ProviderModule, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    if ("__provider" in props) throw new Error("a dynamic resource must not define the __provider key");
    super(DYNAMIC_RESOURCE_TYPE, name, { ...props, __provider: dynamicProviderCode(provider) }, opts);
  }
}
