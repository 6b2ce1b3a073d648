import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import {
  type CfnEventBus,
  type CfnRule,
  EventBus,
  Rule,
  RuleTargetInput,
  Schedule,
} from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, LogGroup, MetricFilter, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  ConfigurationSet,
  EmailSendingEvent,
  EventDestination,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import {
  type CfnStateMachine,
  CfnStateMachineVersion,
  DefinitionBody,
  LogLevel,
  StateMachine,
  StateMachineType,
} from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { SES_DETAIL_TYPES } from '#domain/contracts/ses-event.ts';
import { senderAddress, senderDomain } from '#domain/program.ts';
import { TABLE_DESIGN } from '#domain/table-design.ts';
import { type CompiledProject, type JsonObject, PLACEHOLDERS } from '#domain/workflow/compile.ts';
import { shopifyIngestRules } from '#domain/workflow/patterns.ts';
import { SERVICE } from '#functions/commons/observability.ts';
import { addBroadcast } from './broadcast.ts';
import { RapportFunction } from './rapport-function.ts';
import { addSweepShards } from './sweep-shards.ts';

/** Metadata through which the local runtime finds each flow's state machine and revision. */
export const FLOW_METADATA = 'rapport:flow';
/** Metadata naming a bus's role (`shop` or `system`), so the local runtime keeps them apart. */
export const BUS_METADATA = 'rapport:bus';

export interface RapportStackProps extends StackProps {
  project: CompiledProject;
  /** Shopify's partner event source name; its bus gets rules starting the ingest machine. */
  shopifyEventSource?: string | undefined;
}

export class RapportStack extends Stack {
  constructor(scope: Construct, id: string, props: RapportStackProps) {
    super(scope, id, props);
    const { project } = props;

    const table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_DESIGN.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_DESIGN.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
      // Finished journeys, send claims, claimed waits and coupons carry one (table-design.ts).
      timeToLiveAttribute: TABLE_DESIGN.timeToLive,
    });
    table.addGlobalSecondaryIndex({
      indexName: TABLE_DESIGN.index.name,
      partitionKey: { name: TABLE_DESIGN.index.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_DESIGN.index.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });

    // Two buses of trust (decision 25). The shop's way in: anyone holding the shop's grant may send
    // anything here, and the ingest machine validates, records and re-publishes it. The system bus
    // carries only what Rapport's own functions and state machines publish (accepted events, sweeper
    // triggers, loyalty events); the flows listen there, so a forged `customer.inactive` reaches none.
    const shopBus = new EventBus(this, 'ShopBus');
    const systemBus = new EventBus(this, 'SystemBus');
    for (const [bus, role] of [
      [shopBus, 'shop'],
      [systemBus, 'system'],
    ] as const) {
      (bus.node.defaultChild as CfnEventBus).addMetadata(BUS_METADATA, role);
    }
    // Only the shop's events: a replay re-ingests them (recorded facts are duplicates, published
    // once); the system's own events are derived and never archived, so nothing reaches a flow twice.
    shopBus.archive('Archive', {
      description: 'Every event the shop sent, for replays and backtests',
      eventPattern: { account: [this.account] },
      retention: Duration.days(365),
    });
    const shopPublisher = new ManagedPolicy(this, 'ShopPublisherPolicy', {
      description: "Attach to the shop's role or user: PutEvents to Rapport's shop bus, nothing else",
      statements: [new PolicyStatement({ actions: ['events:PutEvents'], resources: [shopBus.eventBusArn] })],
    });

    const deadLetters = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue: rejected and failed events with their reasons.',
    });

    // SES drops mail to addresses that hard-bounced; a complaint suppresses marketing only, which
    // Rapport decides itself (domain/reputation.ts), so the receipt of an order still reaches them.
    const configurationSet = new ConfigurationSet(this, 'Email', {
      suppressionReasons: SuppressionReasons.BOUNCES_ONLY,
    });
    // What happened to each send, on the account's default bus (the only one SES publishes to).
    configurationSet.addEventDestination('ToEventBridge', {
      destination: EventDestination.eventBus(EventBus.fromEventBusName(this, 'DefaultBus', 'default')),
      events: [
        EmailSendingEvent.SEND,
        EmailSendingEvent.DELIVERY,
        EmailSendingEvent.BOUNCE,
        EmailSendingEvent.COMPLAINT,
        EmailSendingEvent.REJECT,
      ],
    });

    const environment = {
      TABLE_NAME: table.tableName,
      SES_CONFIGURATION_SET: configurationSet.configurationSetName,
      DEFAULT_TIME_ZONE: project.program.timeZone,
      EVENT_BUS_NAME: systemBus.eventBusName,
      // Powertools Metrics: the functions' EMF metrics land beside the stack's own.
      POWERTOOLS_METRICS_NAMESPACE: `Rapport/${this.stackName}`,
    };
    const fn = (id: string, entry: string, timeout?: Duration) =>
      new RapportFunction(this, id, { entry, environment, ...(timeout ? { timeout } : {}) });
    const recordEvent = fn('RecordEvent', 'functions/record-event.ts');
    addPrivacyExports(this, recordEvent);
    const awardPoints = fn('AwardPoints', 'functions/award-points.ts');
    const sendEmail = fn('SendEmail', 'functions/send-email.ts');
    const journey = fn('Journey', 'functions/journey.ts');
    // The schedule invokes the sweeper asynchronously: a sweep that fails every retry is kept too.
    const sweeper = new RapportFunction(this, 'Sweep', {
      entry: 'functions/sweep.ts',
      environment,
      timeout: Duration.minutes(1),
      deadLetterQueue: deadLetters,
    });
    // A sweep worker for a backlogged timer shard, started by the sweeper through SweepShards.
    const sweepShard = new RapportFunction(this, 'SweepShard', {
      entry: 'functions/sweep-shard.ts',
      environment,
      timeout: Duration.minutes(1),
    });
    // SES's reports on each send: suppression and the reputation counters. Invoked asynchronously
    // by the rule below: an event that fails every retry is kept in the dead-letter queue.
    const sesEvents = new RapportFunction(this, 'SesEvents', {
      entry: 'functions/ses-events.ts',
      environment,
      deadLetterQueue: deadLetters,
    });
    // Functions no state machine hands the program to carry it in their bundle (RapportFunction).
    const withProgram = (id: string, entry: string) =>
      new RapportFunction(this, id, { entry, environment, program: project.program });
    // The storefront API by IAM (lambda:InvokeFunction): the shop's backend asks a customer's
    // standing, redeems rewards, checks coupons and adjusts points, answered at once.
    const storefront = withProgram('Storefront', 'functions/storefront.ts');
    systemBus.grantPutEventsTo(storefront);
    // Coupon codes are an HMAC under this key, so nobody computes a customer's code from public ids.
    const couponKey = new Secret(this, 'CouponKey', {
      description: 'Rapport: the key coupon codes are signed with',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(couponKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Issued codes are stored, so rotating would only change the codes a retry derives mid-flight; the key never leaves the two functions.',
    });
    for (const issuer of [journey, storefront]) {
      couponKey.grantRead(issuer);
      issuer.addEnvironment('COUPON_KEY_SECRET_ARN', couponKey.secretArn);
    }
    // One-click unsubscribe (RFC 8058): a public HTTPS endpoint by design, since mailbox providers
    // and recipients call it with no credentials; the signed token in the path is the credential.
    // Its key is its own, so the public function never holds the coupon key.
    const unsubscribeKey = new Secret(this, 'UnsubscribeKey', {
      description: 'Rapport: the key unsubscribe links are signed with',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(unsubscribeKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating would break the unsubscribe link in every email already sent, and those must keep working; the key never leaves SendEmail and Unsubscribe.',
    });
    const unsubscribe = withProgram('Unsubscribe', 'functions/unsubscribe.ts');
    const unsubscribeUrl = unsubscribe.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    for (const signer of [sendEmail, unsubscribe]) {
      unsubscribeKey.grantRead(signer);
      signer.addEnvironment('UNSUBSCRIBE_KEY_SECRET_ARN', unsubscribeKey.secretArn);
    }
    sendEmail.addEnvironment('UNSUBSCRIBE_URL', unsubscribeUrl.url);
    // The signed HTTPS API (docs/api.md): public by design, like the unsubscribe URL, since any
    // platform must reach it without AWS credentials; the signature under this key is the credential.
    const apiKey = new Secret(this, 'ApiKey', {
      description:
        'Rapport: the key(s) requests to the signed API are signed with (comma-separated while rotating)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(apiKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The shop holds this key too, so it is rotated by hand in step with the shop: the secret holds NEW,OLD while senders move (docs/api.md).',
    });
    // The signed HTTPS API: events from any platform, and the storefront's routes (so it carries
    // the program, may issue coupons and publishes what a redemption does, as Storefront does).
    const api = new RapportFunction(this, 'Api', {
      entry: 'functions/api.ts',
      environment,
      program: project.program,
      timeout: Duration.minutes(1),
    });
    systemBus.grantPutEventsTo(api);
    couponKey.grantRead(api);
    api.addEnvironment('COUPON_KEY_SECRET_ARN', couponKey.secretArn);
    api.addEnvironment('API_KEY_SECRET_ARN', apiKey.secretArn);
    api.addEnvironment('DEAD_LETTER_QUEUE_URL', deadLetters.queueUrl);
    apiKey.grantRead(api);
    deadLetters.grantSendMessages(api);
    const apiUrl = api.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    systemBus.grantPutEventsTo(recordEvent);
    const tableId = this.getLogicalId(table.node.defaultChild as never);
    for (const fn of [
      recordEvent,
      awardPoints,
      sendEmail,
      journey,
      sweeper,
      sweepShard,
      storefront,
      unsubscribe,
      sesEvents,
      api,
    ]) {
      table.grantReadWriteData(fn);
      Validations.of(fn).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
        reason:
          'grantReadWriteData covers the table and its own indexes (the timer and date index), nothing else.',
      });
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWSLambdaBasicExecutionRole only lets the function write its own logs.',
      });
    }
    const sender = project.program.sender.from;
    sendEmail.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [
          this.formatArn({ service: 'ses', resource: 'identity', resourceName: senderDomain(sender) }),
          this.formatArn({ service: 'ses', resource: 'identity', resourceName: senderAddress(sender) }),
          this.formatArn({
            service: 'ses',
            resource: 'configuration-set',
            resourceName: configurationSet.configurationSetName,
          }),
        ],
      }),
    );

    const substitutions = {
      [PLACEHOLDERS.recordEvent]: recordEvent.functionArn,
      [PLACEHOLDERS.awardPoints]: awardPoints.functionArn,
      [PLACEHOLDERS.sendEmail]: sendEmail.functionArn,
      [PLACEHOLDERS.journey]: journey.functionArn,
      [PLACEHOLDERS.eventBus]: systemBus.eventBusName,
      [PLACEHOLDERS.shopBus]: shopBus.eventBusName,
      [PLACEHOLDERS.deadLetterQueue]: deadLetters.queueUrl,
    };

    const machine = (
      name: string,
      definition: JsonObject,
      pattern: JsonObject,
      functions: RapportFunction[],
      listensTo: EventBus,
    ) => {
      const logs = new LogGroup(this, `${name}Logs`, {
        retention: RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const asl = JSON.stringify(definition);
      const stateMachine = new StateMachine(this, name, {
        stateMachineType: StateMachineType.EXPRESS,
        definitionBody: DefinitionBody.fromString(asl),
        // Only what this machine uses, so it depends on nothing else.
        definitionSubstitutions: Object.fromEntries(
          Object.entries(substitutions).filter(([key]) => asl.includes(`\${${key}}`)),
        ),
        logs: { destination: logs, level: LogLevel.ERROR, includeExecutionData: false },
        tracingEnabled: false,
      });
      for (const fn of functions) fn.grantInvoke(stateMachine);
      systemBus.grantPutEventsTo(stateMachine);
      deadLetters.grantSendMessages(stateMachine);
      Validations.of(stateMachine).acknowledge({
        id: 'AwsSolutions-SF1',
        reason:
          'Express executions log errors only: logging ALL events would cost more than the execution itself.',
      });
      Validations.of(stateMachine).acknowledge({
        id: 'AwsSolutions-SF2',
        reason: 'X-Ray tracing per event doubles the per-event cost; enable it while debugging.',
      });
      for (const fn of functions) {
        Validations.of(stateMachine).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(fn.node.defaultChild as never)}.Arn>:*]`,
          reason: 'grantInvoke allows the function and its versions and aliases, nothing else.',
        });
      }
      Validations.of(stateMachine).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'CloudWatch Logs delivery for state machines requires Resource "*" (AWS documented).',
      });

      const rule = new Rule(this, `${name}Rule`, {
        eventBus: listensTo,
        // CDK needs a pattern to create the rule; the compiled one replaces it just below.
        eventPattern: { source: ['compiled pattern below'] },
        targets: [
          new SfnStateMachine(stateMachine, {
            deadLetterQueue: deadLetters,
            retryAttempts: 185,
            maxEventAge: Duration.hours(24),
          }),
        ],
      });
      // The compiled pattern uses EventBridge's own JSON (anything-but, numeric, $or ...): use it verbatim.
      (rule.node.defaultChild as CfnRule).addPropertyOverride('EventPattern', pattern);
      return stateMachine;
    };

    const ingest = machine(
      'Ingest',
      project.ingest.definition,
      project.ingest.pattern,
      [recordEvent],
      shopBus,
    );
    // Refunds and cancellations that waited for their order are ingested again from the shop's bus.
    shopBus.grantPutEventsTo(ingest);
    if (props.shopifyEventSource) {
      // The partner bus exists once the shop associates Shopify's event source with it (docs/shopify.md).
      const partnerBus = EventBus.fromEventBusName(this, 'ShopifyBus', props.shopifyEventSource);
      for (const { id, pattern, inputTransformer } of shopifyIngestRules(props.shopifyEventSource)) {
        const rule = new Rule(this, `Ingest${id}Rule`, {
          eventBus: partnerBus,
          eventPattern: { source: ['compiled pattern below'] },
          targets: [
            new SfnStateMachine(ingest, {
              deadLetterQueue: deadLetters,
              retryAttempts: 185,
              maxEventAge: Duration.hours(24),
            }),
          ],
        });
        const cfn = rule.node.defaultChild as CfnRule;
        cfn.addPropertyOverride('EventPattern', pattern);
        // Written as EventBridge takes it: CDK's own rendering would decide the quoting for us.
        if (inputTransformer) cfn.addPropertyOverride('Targets.0.InputTransformer', inputTransformer);
      }
    }
    // The API applies an event as the bus does, by the Ingest machine, and waits for its answer.
    api.addEnvironment('INGEST_MACHINE_ARN', ingest.stateMachineArn);
    api.addToRolePolicy(
      new PolicyStatement({ actions: ['states:StartSyncExecution'], resources: [ingest.stateMachineArn] }),
    );
    const flowMachines: Record<string, { arn: string; revision: string }> = {};
    for (const flow of project.flows) {
      const name = `Flow${pascal(flow.id)}`;
      const stateMachine = machine(
        name,
        flow.definition,
        flow.pattern,
        [awardPoints, sendEmail, journey],
        systemBus,
      );
      const cfn = stateMachine.node.defaultChild as CfnStateMachine;
      cfn.addMetadata(FLOW_METADATA, { flowId: flow.id, revision: flow.revision });
      // A published version per revision, kept when a later deploy replaces it, so journeys that
      // entered on it resume on it. Its logical id carries the revision: a change makes a new one.
      const version = new CfnStateMachineVersion(this, `${name}Version${flow.revision}`, {
        stateMachineArn: stateMachine.stateMachineArn,
        stateMachineRevisionId: cfn.attrStateMachineRevisionId,
        description: flow.revision,
      });
      version.applyRemovalPolicy(RemovalPolicy.RETAIN);
      flowMachines[flow.id] = { arn: stateMachine.stateMachineArn, revision: flow.revision };
      for (const starter of [recordEvent, sweeper, sweepShard]) {
        Validations.of(starter).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(cfn)}>:*]`,
          reason: `Continuations start the published version of ${flow.id} that a journey entered with: <flow ARN>:<version>.`,
        });
        starter.addToRolePolicy(
          new PolicyStatement({
            actions: [
              'states:StartExecution',
              'states:DescribeStateMachine',
              'states:ListStateMachineVersions',
            ],
            resources: [stateMachine.stateMachineArn, `${stateMachine.stateMachineArn}:*`],
          }),
        );
      }
    }
    for (const starter of [recordEvent, sweeper, sweepShard]) {
      starter.addEnvironment('FLOW_MACHINES', this.toJsonString(flowMachines));
      Validations.of(starter).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::<*>:*]',
        reason:
          'Continuations start the published version of a flow a journey entered with: <flow ARN>:<version>.',
      });
    }
    systemBus.grantPutEventsTo(sweeper);
    systemBus.grantPutEventsTo(sweepShard);
    addSweepShards(this, sweeper, sweepShard);
    // Scheduled flows are broadcast by their own machine; the sweeper only starts it.
    if (project.sweep.schedules.length > 0) addBroadcast(this, { table, systemBus, sweeper, environment });

    // The timer wheel: every minute, resume due waits and emit inactivity, date and schedule triggers.
    new Rule(this, 'SweepSchedule', {
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [
        new LambdaFunction(sweeper, {
          event: RuleTargetInput.fromObject(project.sweep),
          retryAttempts: 2,
          deadLetterQueue: deadLetters,
        }),
      ],
    });

    // The sweeper steps over a failing customer or step (so one cannot stop the rest) and logs each
    // sweep's totals: `failed` above zero is what an operator must hear about.
    const sweepFailures = new MetricFilter(this, 'SweepFailures', {
      logGroup: sweeper.logGroup,
      filterPattern: FilterPattern.all(
        FilterPattern.stringValue('$.message', '=', 'swept'),
        FilterPattern.numberValue('$.failed', '>', 0),
      ),
      metricNamespace: `Rapport/${this.stackName}`,
      metricName: 'SweepFailures',
      metricValue: '$.failed',
    });
    new Alarm(this, 'SweepFailuresAlarm', {
      alarmDescription:
        'The sweeper stepped over failures (log lines "sweep step failed" name each customer and step)',
      metric: sweepFailures.metric({ statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // The default bus carries every configuration set's events: only this stack's reach the handler.
    new Rule(this, 'SesEventsRule', {
      description: "SES's reports on Rapport's sends: bounces, complaints, deliveries, rejects, sends",
      eventPattern: {
        source: ['aws.ses'],
        detailType: Object.values(SES_DETAIL_TYPES),
        detail: { mail: { tags: { 'ses:configuration-set': [configurationSet.configurationSetName] } } },
      },
      targets: [
        new LambdaFunction(sesEvents, {
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
          deadLetterQueue: deadLetters,
        }),
      ],
    });
    // Marketing paused itself for an identity (`rapport sending status` says why): someone must review.
    new Alarm(this, 'SendingPausedAlarm', {
      alarmDescription:
        'Marketing email paused itself for a sending identity (bounce or complaint rate over the limit); review, then `rapport sending resume IDENTITY`',
      metric: new Metric({
        namespace: `Rapport/${this.stackName}`,
        metricName: 'SendingPaused',
        dimensionsMap: { service: SERVICE },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    // SES's own account-wide rates, which decide a review: the same limits the pause applies per identity.
    for (const [id, metricName, threshold] of [
      ['SesBounceRateAlarm', 'Reputation.BounceRate', 0.04],
      ['SesComplaintRateAlarm', 'Reputation.ComplaintRate', 0.0008],
    ] as const) {
      new Alarm(this, id, {
        alarmDescription: `The account's SES ${metricName} reached ${threshold * 100}% (SES reviews accounts at 5% bounces, 0.1% complaints)`,
        metric: new Metric({
          namespace: 'AWS/SES',
          metricName,
          statistic: 'Maximum',
          period: Duration.hours(1),
        }),
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }

    new CfnOutput(this, 'EventBusName', {
      value: shopBus.eventBusName,
      description: "The shop's way in: PutEvents commerce events here",
    });
    new CfnOutput(this, 'ShopPublisherPolicyArn', { value: shopPublisher.managedPolicyArn });
    new CfnOutput(this, 'SystemBusName', {
      value: systemBus.eventBusName,
      description: "Rapport's own events; only its functions and state machines may publish here",
    });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'StorefrontFunctionName', {
      value: storefront.functionName,
      description:
        "The storefront API by IAM: invoke with { action: 'status' | 'redeem' | 'check-coupon' | 'adjust' }",
    });
    new CfnOutput(this, 'UnsubscribeUrl', {
      value: unsubscribeUrl.url,
      description: 'The one-click unsubscribe endpoint marketing emails link to',
    });
    new CfnOutput(this, 'ApiUrl', {
      value: apiUrl.url,
      description: 'The signed HTTPS API: POST v1/events and the storefront routes (docs/api.md)',
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: deadLetters.queueUrl });
  }
}

const pascal = (id: string): string =>
  id
    .split(/[-_]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/**
 * Where privacy exports go (issue 10): private, encrypted, TLS only, and gone after the week the
 * presigned link mailed to the customer works. The ingest function writes them and signs the link
 * (a presigned GET is made with its own credentials, hence the read).
 */
const addPrivacyExports = (stack: Stack, recordEvent: RapportFunction): Bucket => {
  const bucket = new Bucket(stack, 'PrivacyExports', {
    encryption: BucketEncryption.S3_MANAGED,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    lifecycleRules: [{ prefix: 'exports/', expiration: Duration.days(8) }],
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'Exports are fetched once by presigned link and expire in days; access logs would keep each customer download beyond the export itself.',
  });
  recordEvent.addEnvironment('EXPORT_BUCKET_NAME', bucket.bucketName);
  recordEvent.addToRolePolicy(
    new PolicyStatement({
      actions: ['s3:PutObject', 's3:GetObject'],
      resources: [bucket.arnForObjects('exports/*')],
    }),
  );
  Validations.of(recordEvent).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(bucket.node.defaultChild as never)}.Arn>/exports/*]`,
    reason: 'Exports are one object per request under exports/: the function writes and signs only those.',
  });
  return bucket;
};
