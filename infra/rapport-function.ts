import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, type CfnFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Program } from '#domain/program.ts';
import { fromRoot, PROJECT_ROOT } from './paths.ts';

export interface RapportFunctionProps {
  /** Handler file relative to the project root, e.g. functions/award-points.ts. */
  entry: string;
  environment: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
  /** Where an asynchronous invocation that failed all its retries is kept (the sweeper's schedule). */
  deadLetterQueue?: IQueue;
  /**
   * The compiled program, for a function no state machine hands it to: written into its bundle at
   * synth time (functions/commons/runtime.ts reads it at cold start), so no 4 KB environment limit.
   */
  program?: Program | undefined;
}

/** Metadata key through which the local runtime finds the handler behind a function in the template. */
export const ENTRY_METADATA = 'rapport:entry';
/** Metadata marking a function whose bundle carries the program: locally, from source, it gets it another way. */
export const PROGRAM_METADATA = 'rapport:program';

/** The one place that carries our function defaults: arm64, Node 24, ESM bundle by local esbuild, own log group. */
export class RapportFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: RapportFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: fromRoot(props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: fromRoot('package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(15),
      logGroup,
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // The Node 24 runtime ships AWS SDK v3; bundling our own would triple the bundle and the cold start.
        externalModules: ['@aws-sdk/*'],
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        // A JSON string literal, parsed and checked at cold start. esbuild is spawned without a shell
        // locally, so the program's `$` and quotes reach it as they are.
        ...(props.program
          ? { define: { __RAPPORT_PROGRAM__: JSON.stringify(JSON.stringify(props.program)) } }
          : {}),
      },
    });
    (this.node.defaultChild as CfnFunction).addMetadata(ENTRY_METADATA, props.entry);
    if (props.program) (this.node.defaultChild as CfnFunction).addMetadata(PROGRAM_METADATA, true);
  }
}
