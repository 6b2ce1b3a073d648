import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { fromRoot } from '../../infra/paths.ts';
import { WEEKLY_OFFER, workflowsWithBroadcast } from '../../local/broadcast-workflows.ts';

describe('the CDK stack with a scheduled flow', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'rapport-cdk-broadcast-'));
  const workflows = workflowsWithBroadcast('unit-broadcast-infra');
  let template: Template;

  beforeAll(() => {
    const { app, stack } = buildApp({
      outdir,
      bundle: false,
      workflowsDir: workflows,
      onlyFlows: [WEEKLY_OFFER],
    });
    app.synth();
    template = Template.fromStack(stack);
  }, 60_000);
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
    rmSync(fromRoot(workflows), { recursive: true, force: true });
  });

  it('passes every cdk-nag AwsSolutions check', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: unknown[] }[];
    };
    for (const plugin of report.pluginReports) expect(plugin.violations).toEqual([]);
  });

  it('deploys the Broadcast machine as a Standard state machine whose one task is the Broadcast function', () => {
    const machines = Object.entries(template.findResources('AWS::StepFunctions::StateMachine'));
    const broadcast = machines.filter(([id]) => id.startsWith('BroadcastMachine'));
    expect(broadcast.map(([, m]) => m.Properties.StateMachineType)).toEqual(['STANDARD']);
    expect(Object.keys(broadcast[0]?.[1].Properties.DefinitionSubstitutions)).toEqual([
      'BroadcastFunctionArn',
    ]);
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.map((fn) => fn.Metadata['rapport:entry'])).toContain('functions/broadcast.ts');
  });

  it('lets the sweeper start the Broadcast machine, and tells it which', () => {
    const [sweeper] = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Metadata['rapport:entry'] === 'functions/sweep.ts',
    );
    const arn = sweeper?.Properties.Environment.Variables.BROADCAST_MACHINE_ARN;
    expect(arn).toEqual({ Ref: expect.stringMatching(/^BroadcastMachine/) });
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(
      `"Action":"states:StartExecution","Effect":"Allow","Resource":${JSON.stringify(arn)}`,
    );
  });

  it('hands the sweeper the flow’s entry conditions with its schedule', () => {
    const [rule] = Object.values(template.findResources('AWS::Events::Rule')).filter(
      (r) => r.Properties.ScheduleExpression,
    );
    const input = JSON.parse(rule?.Properties.Targets[0].Input);
    expect(input.schedules).toEqual([
      {
        flowId: WEEKLY_OFFER,
        every: 'week',
        at: '10:00',
        weekday: 'mon',
        when: [{ field: 'profile.orderCount', gte: 1 }],
      },
    ]);
  });
});

describe('the CDK stack without scheduled flows', () => {
  it('deploys no Broadcast machine', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'rapport-cdk-nobroadcast-'));
    try {
      const { app, stack } = buildApp({ outdir, bundle: false, onlyFlows: ['thank-you'] });
      app.synth();
      const machines = Object.keys(
        Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'),
      );
      expect(machines.filter((id) => id.startsWith('BroadcastMachine'))).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 60_000);
});
