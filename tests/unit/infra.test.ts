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
      'functions/redeem.ts',
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

  it('gives the Redeem function the compiled program, and names it in the outputs for the shop to invoke', () => {
    const [redeem] = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Metadata['rapport:entry'] === 'functions/redeem.ts',
    );
    expect(JSON.parse(redeem?.Properties.Environment.Variables.RAPPORT_PROGRAM)).toEqual(shippedProgram());
    expect(Object.keys(template.findOutputs('RedeemFunctionName'))).toEqual(['RedeemFunctionName']);
  });

  it('deploys the ingest machine on the shop bus, each flow on the system bus and the sweep fan-out, as Express state machines', () => {
    const machines = template.findResources('AWS::StepFunctions::StateMachine');
    expect(Object.values(machines).map((m) => m.Properties.StateMachineType)).toEqual(
      Array(9).fill('EXPRESS'),
    );
    const rules = Object.values(template.findResources('AWS::Events::Rule'))
      .map((r) => r.Properties)
      .filter((r) => r.EventPattern);
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
    // Every PutEvents grant of the functions and state machines names the system bus, never the shop's.
    const grants = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
      p.Properties.PolicyDocument.Statement.filter(
        (s: { Action: unknown }) => s.Action === 'events:PutEvents',
      ),
    );
    expect(grants.length).toBeGreaterThanOrEqual(11);
    for (const grant of grants) {
      expect(grant.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SystemBus/), 'Arn'] });
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

  it('generates the coupon key in Secrets Manager and lets only the two coupon issuers read it', () => {
    const [secretId, ...others] = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
    expect(others).toEqual([]);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
    const functions = Object.entries(template.findResources('AWS::Lambda::Function'));
    const withKey = functions
      .filter(([, fn]) => fn.Properties.Environment.Variables.COUPON_KEY_SECRET_ARN)
      .map(([, fn]) => fn.Metadata['rapport:entry']);
    expect(withKey).toEqual(['functions/journey.ts', 'functions/redeem.ts']);
    for (const [, fn] of functions)
      expect(fn.Properties.Environment.Variables.COUPON_KEY_SECRET_ARN ?? { Ref: secretId }).toEqual({
        Ref: secretId,
      });
    const readers = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes('secretsmanager:GetSecretValue'),
    );
    expect(
      readers.flatMap((policy) => policy.Properties.Roles.map((r: { Ref: string }) => r.Ref)).sort(),
    ).toEqual(
      functions
        .filter(([, fn]) => fn.Properties.Environment.Variables.COUPON_KEY_SECRET_ARN)
        .map(([, fn]) => fn.Properties.Role['Fn::GetAtt'][0])
        .sort(),
    );
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
    expect(keys).toContainEqual(['DeadLetterQueueUrl', 'EventBusName', 'RecordEventFunctionArn']);
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

  it('publishes a retained version of each flow per revision, for journeys to resume on', () => {
    const versions = template.findResources('AWS::StepFunctions::StateMachineVersion');
    expect(Object.keys(versions)).toHaveLength(7);
    for (const version of Object.values(versions)) {
      expect(version.DeletionPolicy).toBe('Retain');
      expect(version.Properties.Description).toMatch(/^[0-9a-f]{16}$/);
    }
  });
});
