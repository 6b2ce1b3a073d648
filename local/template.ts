import * as z from 'zod';
import { ENTRY_METADATA, PROGRAM_METADATA } from '#infra/rapport-function.ts';
import { BUS_METADATA, FLOW_METADATA } from '#infra/rapport-stack.ts';

// Reads what the local runtime needs out of the synthesized CloudFormation template: the table,
// the functions and their handler files, the state machines (definitions with substitutions
// resolved to local values) and the rules that start them. Nothing is declared twice.

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

const resourceSchema = z.object({
  Type: z.string(),
  Properties: z.record(z.string(), z.unknown()).default({}),
  Metadata: z.record(z.string(), z.unknown()).optional(),
});
const templateSchema = z.object({ Resources: z.record(z.string(), resourceSchema) });
export type Template = z.infer<typeof templateSchema>;

export interface LocalNames {
  tableName: string;
  /** The shop bus: the shop's way in. */
  eventBusName: string;
  /** Rapport's own events; the shop may not publish here. */
  systemBusName: string;
  deadLetterQueueUrl: string;
}

export const lambdaArn = (logicalId: string) =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;
export const stateMachineArn = (logicalId: string) =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${logicalId}`;

export interface LocalFunction {
  logicalId: string;
  arn: string;
  entry: string;
  /** The deployed timeout: the budget middy and the sweeper see, as in AWS. */
  timeoutSeconds: number;
  environment: Record<string, string>;
  /** Its bundle carries the program (infra/rapport-function.ts); run from source, it needs it handed over. */
  carriesProgram: boolean;
}

export interface LocalMachine {
  logicalId: string;
  arn: string;
  definition: Record<string, unknown>;
  /** For flows: which flow and revision this machine runs. */
  flow?: { flowId: string; revision: string } | undefined;
}

export interface LocalRule {
  logicalId: string;
  /** The bus the rule listens on; none for a schedule (the default bus). */
  eventBusName?: string | undefined;
  pattern?: Record<string, unknown> | undefined;
  schedule?: string | undefined;
  targets: { arn: string; input?: unknown; inputTransformer?: LocalInputTransformer | undefined }[];
}

/** A target's input transformer, as EventBridge applies it (local/runtime/bus.ts). */
export interface LocalInputTransformer {
  paths: Record<string, string>;
  template: string;
}

/** A configuration set publishing SES's events to EventBridge: which set, and which event types. */
export interface LocalSesDestination {
  configurationSet: string;
  /** As CloudFormation names them: send, delivery, bounce, complaint, reject. */
  events: string[];
}

export interface LocalStack {
  table: { properties: Record<string, unknown> };
  functions: LocalFunction[];
  machines: LocalMachine[];
  rules: LocalRule[];
  sesDestinations: LocalSesDestination[];
}

export const readLocalStack = (raw: unknown, names: LocalNames): LocalStack => {
  const template = templateSchema.parse(raw);
  const resources = Object.entries(template.Resources);
  const byType = (type: string) => resources.filter(([, resource]) => resource.Type === type);

  /** Resolves the intrinsic functions our template uses to local values. */
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value !== 'object' || value === null) return value;
    const record = value as Record<string, unknown>;
    if (typeof record.Ref === 'string') return refOf(record.Ref);
    if (Array.isArray(record['Fn::GetAtt'])) {
      const [id, attribute] = record['Fn::GetAtt'] as [string, string];
      return getAtt(id, attribute);
    }
    if (Array.isArray(record['Fn::Join'])) {
      const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, resolve(inner)]));
  };
  const typeOf = (id: string) => template.Resources[id]?.Type;
  const refOf = (id: string): string => {
    switch (typeOf(id)) {
      case 'AWS::DynamoDB::Table':
        return names.tableName;
      case 'AWS::Events::EventBus':
        return template.Resources[id]?.Metadata?.[BUS_METADATA] === 'system'
          ? names.systemBusName
          : names.eventBusName;
      case 'AWS::SQS::Queue':
        return names.deadLetterQueueUrl;
      case 'AWS::StepFunctions::StateMachine':
        return stateMachineArn(id);
      case 'AWS::Lambda::Function':
        return id;
      default:
        return `local-${id}`;
    }
  };
  const getAtt = (id: string, attribute: string): string => {
    if (typeOf(id) === 'AWS::Lambda::Function' && attribute === 'Arn') return lambdaArn(id);
    return `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${id}/${attribute}`;
  };

  const [table] = byType('AWS::DynamoDB::Table');
  if (!table) throw new Error('The synthesized template has no DynamoDB table');

  const functions = byType('AWS::Lambda::Function')
    .filter(([, resource]) => typeof resource.Metadata?.[ENTRY_METADATA] === 'string')
    .map(([logicalId, resource]) => ({
      logicalId,
      arn: lambdaArn(logicalId),
      entry: String(resource.Metadata?.[ENTRY_METADATA]),
      timeoutSeconds: z.number().default(3).parse(resource.Properties.Timeout),
      environment: z
        .record(z.string(), z.string())
        .parse(
          resolve((resource.Properties.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}),
        ),
      carriesProgram: resource.Metadata?.[PROGRAM_METADATA] === true,
    }));

  const machines = byType('AWS::StepFunctions::StateMachine').map(([logicalId, resource]) => {
    const substitutions = z
      .record(z.string(), z.string())
      .parse(resolve(resource.Properties.DefinitionSubstitutions ?? {}));
    const raw = String(resolve(resource.Properties.DefinitionString));
    const text = raw.replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, key: string) => substitutions[key] ?? whole);
    const flow = z
      .object({ flowId: z.string(), revision: z.string() })
      .optional()
      .parse(resource.Metadata?.[FLOW_METADATA]);
    return {
      logicalId,
      arn: stateMachineArn(logicalId),
      definition: JSON.parse(text) as Record<string, unknown>,
      flow,
    };
  });

  const rules = byType('AWS::Events::Rule').map(([logicalId, resource]) => ({
    logicalId,
    eventBusName: z.string().optional().parse(resolve(resource.Properties.EventBusName)),
    pattern: z.record(z.string(), z.unknown()).optional().parse(resolve(resource.Properties.EventPattern)),
    schedule: z.string().optional().parse(resource.Properties.ScheduleExpression),
    targets: z
      .array(
        z
          .object({
            Arn: z.string(),
            Input: z.string().optional(),
            InputTransformer: z
              .object({
                InputPathsMap: z.record(z.string(), z.string()).default({}),
                InputTemplate: z.string(),
              })
              .optional(),
          })
          .passthrough(),
      )
      .parse(resolve(resource.Properties.Targets ?? []))
      .map((target) => ({
        arn: target.Arn,
        input: target.Input ? (JSON.parse(target.Input) as unknown) : undefined,
        inputTransformer: target.InputTransformer && {
          paths: target.InputTransformer.InputPathsMap,
          template: target.InputTransformer.InputTemplate,
        },
      })),
  }));

  const sesDestinations = byType('AWS::SES::ConfigurationSetEventDestination').flatMap(([, resource]) => {
    const destination = z
      .object({
        Enabled: z.boolean().default(true),
        MatchingEventTypes: z.array(z.string()),
        EventBridgeDestination: z.object({ EventBusArn: z.unknown() }).optional(),
      })
      .parse(resource.Properties.EventDestination);
    if (!destination.Enabled || !destination.EventBridgeDestination) return [];
    return [
      {
        configurationSet: z.string().parse(resolve(resource.Properties.ConfigurationSetName)),
        events: destination.MatchingEventTypes,
      },
    ];
  });

  return { table: { properties: table[1].Properties }, functions, machines, rules, sesDestinations };
};
