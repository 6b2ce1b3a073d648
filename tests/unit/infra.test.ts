import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileProject } from '../../domain/workflow/compile.ts';
import { buildApp } from '../../infra/app.ts';
import { readWorkflowSources } from '../../infra/workflow-files.ts';

/** The shipped program as it reaches AWS: compiled, then serialised to JSON. */
const shippedProgram = () => JSON.parse(JSON.stringify(compileProject(readWorkflowSources()).program));

describe('the CDK stack', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'rapport-cdk-'));
  let template: Template;

  // Synthesis (eight state machines, six functions, every cdk-nag check) takes seconds: more than
  // the default 10 s hook timeout when the whole suite runs in parallel on a small machine.
  beforeAll(() => {
    const { app, stack } = buildApp({ outdir, bundle: false });
    // cdk-nag's AwsSolutions checks run here: any unacknowledged finding makes synth throw.
    app.synth();
    template = Template.fromStack(stack);
  }, 60_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('passes every cdk-nag AwsSolutions check, with a reason for each acknowledged one', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { conclusion: string; violations: unknown[] }[];
    };
    for (const plugin of report.pluginReports) expect(plugin.violations).toEqual([]);
  });

  it('runs every function on Node 24, arm64, with the table name from the table itself', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.values(functions).map((fn) => fn.Metadata['rapport:entry'])).toEqual([
      'functions/record-event.ts',
      'functions/award-points.ts',
      'functions/send-email.ts',
      'functions/journey.ts',
      'functions/sweep.ts',
      'functions/sweep-shard.ts',
      'functions/ses-events.ts',
      'functions/storefront.ts',
      'functions/unsubscribe.ts',
      'functions/api.ts',
    ]);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Environment: { Variables: { TABLE_NAME: { Ref: expect.stringMatching(/^Table/) } } },
      });
      expect(fn.Metadata['rapport:entry']).toMatch(/^functions\/[a-z-]+\.ts$/);
    }
  });

  it('bundles the program into the functions no state machine hands it to, and names Storefront in the outputs', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const carrying = functions.filter((fn) => fn.Metadata['rapport:program'] === true);
    expect(carrying.map((fn) => fn.Metadata['rapport:entry'])).toEqual([
      'functions/storefront.ts',
      'functions/unsubscribe.ts',
      'functions/api.ts',
    ]);
    // In the bundle, not the environment: no 4 KB limit on the program.
    for (const fn of functions) expect(fn.Properties.Environment.Variables.RAPPORT_PROGRAM).toBeUndefined();
    expect(Object.keys(template.findOutputs('StorefrontFunctionName'))).toEqual(['StorefrontFunctionName']);
  });

  it('deploys the ingest machine on the shop bus, each flow on the system bus and the sweep fan-out, as Express state machines', () => {
    const machines = template.findResources('AWS::StepFunctions::StateMachine');
    expect(Object.values(machines).map((m) => m.Properties.StateMachineType)).toEqual(
      Array(9).fill('EXPRESS'),
    );
    const rules = Object.values(template.findResources('AWS::Events::Rule'))
      .map((r) => r.Properties)
      .filter((r) => r.EventPattern && !r.EventPattern.source.includes('aws.ses'));
    // Ingest, then the flows by id: birthday, points-expiring, review-request, thank-you, tier-upgrade,
    // welcome, win-back. Loyalty events come from rapport.loyalty, recorded shop events from rapport.ingest.
    // Ingest takes everything on the shop bus: what is not a commerce event is dead-lettered with its reason.
    expect(rules.map((r) => r.EventPattern.source)).toEqual([
      [{ exists: true }],
      ['rapport.sweeper'],
      ['rapport.loyalty'],
      ['rapport.ingest'],
      ['rapport.ingest'],
      ['rapport.loyalty'],
      ['rapport.ingest'],
      ['rapport.sweeper'],
    ]);
    expect(rules.map((r) => r.EventPattern['detail-type'])).toEqual([
      undefined,
      ['customer.date'],
      ['points.expiring'],
      ['order.placed'],
      ['order.placed'],
      ['customer.tier-changed'],
      ['customer.registered'],
      ['customer.inactive'],
    ]);
    expect(rules[5].EventPattern.detail).toEqual({ direction: ['up'] });
    expect(rules[7].EventPattern.detail).toEqual({ days: [113] });
    const [ingest, ...flows] = rules;
    expect(ingest?.EventBusName).toEqual({ Ref: expect.stringMatching(/^ShopBus/) });
    for (const rule of flows) expect(rule.EventBusName).toEqual({ Ref: expect.stringMatching(/^SystemBus/) });
    for (const rule of rules) {
      expect(rule.Targets[0].DeadLetterConfig.Arn['Fn::GetAtt'][0]).toMatch(/^DeadLetterQueue/);
    }
  });

  it("lets the shop publish only to the shop bus, and only Rapport's own roles to the system bus", () => {
    const [shopPolicy] = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(shopPolicy?.Properties.PolicyDocument.Statement).toEqual([
      {
        Action: 'events:PutEvents',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ShopBus/), 'Arn'] },
      },
    ]);
    expect(Object.keys(template.findOutputs('ShopPublisherPolicyArn'))).toHaveLength(1);
    // Every PutEvents grant of the functions and state machines names the system bus; only the
    // ingest machine may also put on the shop's (events that waited for their order, ingested again).
    const grants = Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([id, p]) =>
      p.Properties.PolicyDocument.Statement.filter(
        (s: { Action: unknown }) => s.Action === 'events:PutEvents',
      ).map((grant: { Resource: unknown }) => ({ id, resource: grant.Resource })),
    );
    expect(grants.length).toBeGreaterThanOrEqual(11);
    const toShop = grants.filter((g) => JSON.stringify(g.resource).includes('ShopBus'));
    expect(toShop.map((g) => g.id)).toEqual([expect.stringMatching(/^IngestRole/)]);
    for (const grant of grants.filter((g) => !toShop.includes(g))) {
      expect(grant.resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SystemBus/), 'Arn'] });
    }
  });

  it('archives only what the shop sent, so a replay never feeds the flows derived events', () => {
    const archives = Object.values(template.findResources('AWS::Events::Archive'));
    expect(archives).toHaveLength(1);
    expect(archives[0]?.Properties.SourceArn).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^ShopBus/), 'Arn'],
    });
  });

  it('keeps a failed sweep in the dead-letter queue, from the schedule and from the function', () => {
    const [sweep] = Object.values(template.findResources('AWS::Events::Rule')).filter(
      (r) => r.Properties.ScheduleExpression,
    );
    expect(sweep?.Properties.Targets[0].DeadLetterConfig.Arn['Fn::GetAtt'][0]).toMatch(/^DeadLetterQueue/);
    const [sweeper] = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Metadata['rapport:entry'] === 'functions/sweep.ts',
    );
    expect(sweeper?.Properties.DeadLetterConfig.TargetArn['Fn::GetAtt'][0]).toMatch(/^DeadLetterQueue/);
  });

  it('keeps one table with point-in-time recovery and no hard-coded physical names', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::Events::EventBus',
      'AWS::SQS::Queue',
      'AWS::Lambda::Function',
    ]) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(
          resource.Properties.TableName ?? resource.Properties.QueueName ?? resource.Properties.FunctionName,
        ).toBeUndefined();
      }
    }
  });

  it('lets DynamoDB delete expired items by their numeric ttl attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  /** The functions whose environment names the secret, and the roles allowed to read it: the same. */
  const secretUse = (variable: string, secretId: string) => {
    const functions = Object.entries(template.findResources('AWS::Lambda::Function'));
    for (const [, fn] of functions)
      expect(fn.Properties.Environment.Variables[variable] ?? { Ref: secretId }).toEqual({ Ref: secretId });
    const holders = functions.filter(([, fn]) => fn.Properties.Environment.Variables[variable]);
    const readers = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      policy.Properties.PolicyDocument.Statement.some(
        (s: { Action: unknown; Resource: unknown }) =>
          JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue') &&
          JSON.stringify(s.Resource) === JSON.stringify({ Ref: secretId }),
      ),
    );
    expect(
      readers.flatMap((policy) => policy.Properties.Roles.map((r: { Ref: string }) => r.Ref)).sort(),
    ).toEqual(holders.map(([, fn]) => fn.Properties.Role['Fn::GetAtt'][0]).sort());
    return holders.map(([, fn]) => fn.Metadata['rapport:entry']);
  };
  const secretNamed = (description: string) => {
    const secrets = template.findResources('AWS::SecretsManager::Secret', {
      Properties: { Description: description },
    });
    expect(Object.values(secrets).map((s) => s.Properties.GenerateSecretString)).toEqual([
      { PasswordLength: 64, ExcludePunctuation: true },
    ]);
    return Object.keys(secrets)[0] ?? '';
  };

  it('generates the coupon key in Secrets Manager and lets only the coupon issuers read it', () => {
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toHaveLength(3);
    const secretId = secretNamed('Rapport: the key coupon codes are signed with');
    expect(secretUse('COUPON_KEY_SECRET_ARN', secretId)).toEqual([
      'functions/journey.ts',
      'functions/storefront.ts',
      'functions/api.ts',
    ]);
  });

  it('signs unsubscribe links with a key of their own that only the mailer and the endpoint read', () => {
    const secretId = secretNamed('Rapport: the key unsubscribe links are signed with');
    expect(secretUse('UNSUBSCRIBE_KEY_SECRET_ARN', secretId)).toEqual([
      'functions/send-email.ts',
      'functions/unsubscribe.ts',
    ]);
  });

  /** The function URL (id and resource) that targets a function. */
  const urlOf = (functionId: string) => {
    const urls = Object.entries(template.findResources('AWS::Lambda::Url')).filter(
      ([, url]) =>
        JSON.stringify(url.Properties.TargetFunctionArn) ===
        JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }),
    );
    expect(urls).toHaveLength(1);
    return urls[0] ?? ['', undefined];
  };
  const functionIdOf = (entry: string) =>
    Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Metadata['rapport:entry'] === entry,
    )?.[0] ?? '';

  it('serves the signed API on a public function URL, with a key only it reads, named in the outputs', () => {
    expect(Object.keys(template.findResources('AWS::Lambda::Url'))).toHaveLength(2);
    const apiId = functionIdOf('functions/api.ts');
    const [urlId, url] = urlOf(apiId);
    // The signature is the credential: any platform must reach it without AWS credentials.
    expect(url?.Properties.AuthType).toBe('NONE');
    const secretId = secretNamed(
      'Rapport: the key(s) requests to the signed API are signed with (comma-separated while rotating)',
    );
    expect(secretUse('API_KEY_SECRET_ARN', secretId)).toEqual(['functions/api.ts']);
    expect(template.findOutputs('ApiUrl').ApiUrl?.Value).toEqual({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
  });

  it('lets the API start synchronous executions of the Ingest machine and of no other', () => {
    const apiId = functionIdOf('functions/api.ts');
    const functions = template.findResources('AWS::Lambda::Function');
    const variables = functions[apiId]?.Properties.Environment.Variables;
    const ingestId = Object.keys(template.findResources('AWS::StepFunctions::StateMachine')).find((id) =>
      id.startsWith('Ingest'),
    );
    expect(variables.INGEST_MACHINE_ARN).toEqual({ Ref: ingestId });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
    );
    const syncStarts = statements.filter((s) =>
      JSON.stringify(s.Action).includes('states:StartSyncExecution'),
    );
    expect(syncStarts.map((s) => s.Resource)).toEqual([{ Ref: ingestId }]);
    expect(functions[apiId]?.Metadata['rapport:program']).toBe(true);
  });

  it('serves the unsubscribe endpoint on a public function URL that the mailer links to', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const [unsubscribeId] = Object.entries(functions).find(
      ([, fn]) => fn.Metadata['rapport:entry'] === 'functions/unsubscribe.ts',
    ) ?? [''];
    const [urlId, url] = urlOf(unsubscribeId);
    // Public by design: mailbox providers POST the one-click unsubscribe with no credentials.
    expect(url?.Properties).toMatchObject({
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [unsubscribeId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      FunctionUrlAuthType: 'NONE',
      Principal: '*',
    });
    const sendEmail = Object.values(functions).find(
      (fn) => fn.Metadata['rapport:entry'] === 'functions/send-email.ts',
    );
    expect(sendEmail?.Properties.Environment.Variables.UNSUBSCRIBE_URL).toEqual({
      'Fn::GetAtt': [urlId, 'FunctionUrl'],
    });
    // Its preference page lists the program's topics: the program is in its bundle.
    expect(functions[unsubscribeId]?.Metadata['rapport:program']).toBe(true);
    expect(template.findOutputs('UnsubscribeUrl').UnsubscribeUrl?.Value).toEqual({
      'Fn::GetAtt': [urlId, 'FunctionUrl'],
    });
  });

  it('keeps privacy exports in a private, encrypted bucket that expires them, written only by the ingest function', () => {
    const [bucketId, ...others] = Object.keys(template.findResources('AWS::S3::Bucket'));
    expect(others).toEqual([]);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 8, Prefix: 'exports/', Status: 'Enabled' }] },
    });
    const withBucket = Object.values(template.findResources('AWS::Lambda::Function'))
      .filter((fn) => fn.Properties.Environment.Variables.EXPORT_BUCKET_NAME)
      .map((fn) => [fn.Metadata['rapport:entry'], fn.Properties.Environment.Variables.EXPORT_BUCKET_NAME]);
    expect(withBucket).toEqual([['functions/record-event.ts', { Ref: bucketId }]]);
    const writers = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('s3:PutObject'),
    );
    expect(writers).toHaveLength(1);
  });

  it('lets the mailer send only as the program sender, never from any identity', () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('identity/example.com');
    expect(policies).toContain('identity/hello@example.com');
    expect(policies).not.toMatch(/"ses:SendEmail"[^\]]*"Resource":"\*"/);
  });

  it('substitutes only the ARNs each state machine uses', () => {
    const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    const keys = machines.map((m) => Object.keys(m.Properties.DefinitionSubstitutions).sort());
    expect(keys).toContainEqual([
      'DeadLetterQueueUrl',
      'EventBusName',
      'RecordEventFunctionArn',
      'ShopBusName',
    ]);
    expect(keys).toContainEqual([
      'AwardPointsFunctionArn',
      'DeadLetterQueueUrl',
      'JourneyFunctionArn',
      'SendEmailFunctionArn',
    ]);
  });

  it('sweeps timers every minute with the configuration compiled from the flows', () => {
    const [sweep] = Object.values(template.findResources('AWS::Events::Rule')).filter(
      (r) => r.Properties.ScheduleExpression,
    );
    expect(sweep?.Properties.ScheduleExpression).toBe('rate(1 minute)');
    // Points come due (pending, expiry, tiers, rewards), so the sweeper gets the program too.
    expect(JSON.parse(sweep?.Properties.Targets[0].Input)).toEqual({
      timeZone: 'America/New_York',
      inactivityDays: [113],
      dates: [{ field: 'birthday', at: '09:00' }],
      schedules: [],
      program: shippedProgram(),
    });
    // EventBridge refuses a target input longer than 8192 characters.
    expect(sweep?.Properties.Targets[0].Input.length).toBeLessThanOrEqual(8192);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('alarms when a sweep reports failures it stepped over', () => {
    const [filter] = Object.values(template.findResources('AWS::Logs::MetricFilter'));
    expect(filter?.Properties.FilterPattern).toBe('{ ($.message = "swept") && ($.failed > 0) }');
    expect(filter?.Properties.MetricTransformations[0]).toMatchObject({
      MetricName: 'SweepFailures',
      MetricValue: '$.failed',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SweepFailures',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it("publishes the configuration set's sends, deliveries, bounces, complaints and rejects to the default bus", () => {
    const [configurationSetId] = Object.keys(template.findResources('AWS::SES::ConfigurationSet'));
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      SuppressionOptions: { SuppressedReasons: ['BOUNCE'] },
    });
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: configurationSetId },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['send', 'delivery', 'bounce', 'complaint', 'reject'],
      },
    });
    const [destination] = Object.values(template.findResources('AWS::SES::ConfigurationSetEventDestination'));
    expect(
      JSON.stringify(destination?.Properties.EventDestination.EventBridgeDestination.EventBusArn),
    ).toMatch(/:event-bus\/default"\]\]}$/);
    // The mailer sends with that configuration set.
    const [sendEmail] = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Metadata['rapport:entry'] === 'functions/send-email.ts',
    );
    expect(sendEmail?.Properties.Environment.Variables.SES_CONFIGURATION_SET).toEqual({
      Ref: configurationSetId,
    });
  });

  it("invokes the SES events handler from the default bus for this configuration set's events only", () => {
    const [configurationSetId] = Object.keys(template.findResources('AWS::SES::ConfigurationSet'));
    const [rule, ...others] = Object.values(template.findResources('AWS::Events::Rule')).filter((r) =>
      r.Properties.EventPattern?.source?.includes('aws.ses'),
    );
    expect(others).toEqual([]);
    expect(rule?.Properties.EventBusName).toBeUndefined();
    expect(rule?.Properties.EventPattern).toEqual({
      source: ['aws.ses'],
      'detail-type': [
        'Email Sent',
        'Email Delivered',
        'Email Bounced',
        'Email Complaint Received',
        'Email Rejected',
      ],
      detail: { mail: { tags: { 'ses:configuration-set': [{ Ref: configurationSetId }] } } },
    });
    const functions = template.findResources('AWS::Lambda::Function');
    const target = rule?.Properties.Targets[0];
    const handlerId = target.Arn['Fn::GetAtt'][0];
    expect(functions[handlerId]?.Metadata['rapport:entry']).toBe('functions/ses-events.ts');
    expect(target.DeadLetterConfig.Arn['Fn::GetAtt'][0]).toMatch(/^DeadLetterQueue/);
    expect(functions[handlerId]?.Properties.DeadLetterConfig.TargetArn['Fn::GetAtt'][0]).toMatch(
      /^DeadLetterQueue/,
    );
  });

  it('alarms when marketing pauses itself, and at SES reputation rates of 4% bounces or 0.08% complaints', () => {
    // The namespace the functions' Powertools metrics are written to.
    const [sesEvents] = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Metadata['rapport:entry'] === 'functions/ses-events.ts',
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SendingPaused',
      Namespace: sesEvents?.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: 'rapport' }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SES',
      MetricName: 'Reputation.BounceRate',
      Threshold: 0.04,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SES',
      MetricName: 'Reputation.ComplaintRate',
      Threshold: 0.0008,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('publishes a retained version of each flow per revision, for journeys to resume on', () => {
    const versions = template.findResources('AWS::StepFunctions::StateMachineVersion');
    expect(Object.keys(versions)).toHaveLength(7);
    for (const version of Object.values(versions)) {
      expect(version.DeletionPolicy).toBe('Retain');
      expect(version.Properties.Description).toMatch(/^[0-9a-f]{16}$/);
    }
  });
});
