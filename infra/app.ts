import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '#domain/errors.ts';
import { compileProject, sweepConfig } from '#domain/workflow/compile.ts';
import { RapportStack } from './rapport-stack.ts';
import { readWorkflowSources } from './workflow-files.ts';

export const STACK_NAME = 'Rapport';

/** Compiles the workflows (a ConfigError stops here, before anything deploys) and builds the app. */
export interface BuildOptions {
  outdir?: string | undefined;
  workflowsDir?: string | undefined;
  bundle?: boolean | undefined;
  /** Deploy only these flows (a simulation); the rest of the project is compiled and checked all the same. */
  onlyFlows?: string[] | undefined;
  /** Shopify's partner event source (aws.partner/shopify.com/<app id>/<name>); none, no partner rule. */
  shopifyEventSource?: string | undefined;
}

export const buildApp = (options: BuildOptions = {}) => {
  const compiled = compileProject(readWorkflowSources(options.workflowsDir));
  const only = options.onlyFlows;
  const deployed = only ? compiled.flows.filter((f) => only.includes(f.id)) : compiled.flows;
  // The sweeper looks only for the triggers of the flows that are deployed.
  const project = only
    ? {
        ...compiled,
        flows: deployed,
        sweep: sweepConfig(
          deployed.map((f) => f.flow),
          compiled.program,
        ),
      }
    : compiled;
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    // The local runtime runs handlers from source: skip esbuild when it only needs the template.
    ...(options.bundle === false ? { context: { 'aws:cdk:bundling-stacks': [] } } : {}),
  });
  // `cdk deploy -c shopifyEventSource=aws.partner/shopify.com/...` connects the shop's Shopify.
  const shopifyEventSource = options.shopifyEventSource ?? app.node.tryGetContext('shopifyEventSource');
  if (
    shopifyEventSource !== undefined &&
    !/^aws\.partner\/shopify\.com\/[^/]+\/[^/]+$/.test(shopifyEventSource)
  )
    throw new ConfigError([
      {
        file: 'cdk context',
        path: 'shopifyEventSource',
        message: `${String(shopifyEventSource)} is not a Shopify partner event source (aws.partner/shopify.com/<app id>/<name>)`,
      },
    ]);
  const stack = new RapportStack(app, STACK_NAME, {
    project,
    shopifyEventSource,
    description: 'Rapport: relationship-marketing automation (events, loyalty points, personalized email)',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, project };
};

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  try {
    // RAPPORT_WORKFLOWS_DIR points synth at another workflows folder (a branch's, a test's).
    buildApp({ workflowsDir: process.env.RAPPORT_WORKFLOWS_DIR }).app.synth();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Workflow configuration has errors; nothing was synthesized:\n${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
