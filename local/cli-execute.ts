import { readFileSync, writeFileSync } from 'node:fs';
import { compileProject } from '#domain/workflow/compile.ts';
import { fromRoot } from '#infra/paths.ts';
import { readWorkflowSources } from '#infra/workflow-files.ts';
import { runBench } from './bench.ts';
import { parseCdnow } from './cdnow.ts';
import type { Invocation } from './cli-options.ts';
import {
  type CommandResult,
  graphCommand,
  schemasCommand,
  testPatternBatchCommand,
  testPatternCommand,
  validateCommand,
} from './commands.ts';
import { customerCommand } from './customer-report.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './emulators.ts';
import { startEventsEndpoint } from './events-endpoint.ts';
import { previewCommand } from './preview.ts';
import { progressBar } from './progress.ts';
import { formatReconcile, reconcileTable } from './reconcile.ts';
import { type ReplaySummary, replayClock, replayPurchases } from './replay.ts';
import { LocalRapport } from './runtime.ts';
import { sendingCommand } from './sending-command.ts';
import { formatSimulation, simulateFlow } from './simulate.ts';
import { removeStackFile, writeStackFile } from './stack-file.ts';

// What each command does, once local/cli.ts has parsed and checked its arguments. Loaded only then:
// it pulls in the CDK app and the AWS SDK, which `rapport --help` has no need to wait for.

const out = (line = '') => process.stdout.write(`${line}\n`);

/** Where `rapport serve` leaves the signed API's key for this stack. */
const API_KEY_FILE = fromRoot('.rapport/api-key');

const print = ({ code, stdout, stderr }: CommandResult): number => {
  for (const line of stdout) out(line);
  if (stderr.length > 0) process.stderr.write(`${stderr.join('\n')}\n`);
  return code;
};

const printSummary = (s: ReplaySummary) => {
  out();
  out(`Replayed ${s.dataset}`);
  out(`  customers          ${s.customers}`);
  out(`  orders             ${s.orders} (of ${s.events} events)`);
  out(`  order points       ${s.pointsEarned} earned (at base rate alone: ${s.expectedPoints})`);
  out(`  emails sent        ${s.emailsSent}`);
  for (const [flow, count] of Object.entries(s.sendsByFlow).sort()) out(`    ${flow.padEnd(17)}${count}`);
  out(`  coupons issued     ${s.coupons}`);
  if (s.unreadable.length > 0)
    out(`  unreadable items   ${s.unreadable.length}: ${s.unreadable.slice(0, 3).join('; ')}`);
  const journeys = Object.entries(s.journeys).sort();
  if (journeys.length > 0) {
    out('  journeys           entered  completed  exited  waiting  converted');
    for (const [flow, j] of journeys) {
      out(
        `    ${flow.padEnd(17)}${String(j.entered).padStart(7)}${String(j.completed).padStart(11)}${String(j.exited).padStart(8)}${String(j.waiting).padStart(9)}${String(j.converted).padStart(11)}`,
      );
    }
  }
  for (const line of formatReconcile(s.reconcile)) out(`  ${line}`);
  out(`  rejected events    ${s.rejected}`);
  out(`  failed executions  ${s.failedExecutions}`);
  out(`  wall time          ${s.wallSeconds} s`);
  out(`  events per second  ${s.eventsPerSecond}`);
  out(`  inbox (SES local)  ${s.inbox}  (GET ${s.inbox}/store for JSON)`);
};

const serveBanner = (events: string, runtime: LocalRapport) => {
  out();
  out('Local stack is up. Send events as a shop would:');
  out(`  aws events put-events --endpoint-url ${events} --region us-east-1 \\`);
  out(
    `    --entries '[{"Source":"my.shop","DetailType":"order.placed","EventBusName":"${runtime.names.eventBusName}","Detail":"{\\"version\\":1,\\"orderId\\":\\"o-1\\",\\"customerId\\":\\"c-1\\",\\"email\\":\\"ada@example.com\\",\\"name\\":\\"Ada Lovelace\\",\\"currency\\":\\"USD\\",\\"total\\":42.5,\\"items\\":[],\\"placedAt\\":\\"2026-11-24T12:00:00Z\\"}"}]'`,
  );
  out(`  EventBridge endpoint  ${events}`);
  out(`  DynamoDB Local        ${runtime.dynamo.endpoint}  (table ${runtime.names.tableName})`);
  out(`  SES inbox             ${runtime.ses.endpoint}`);
  out(`  Unsubscribe endpoint  ${runtime.unsubscribeUrl}u/TOKEN  (the links in the emails)`);
  if (runtime.apiUrl) {
    out(`  Signed API            ${runtime.apiUrl}v1/events  (docs/api.md; key in ${API_KEY_FILE})`);
    out(`    body='{"id":"e-1","type":"customer.registered","detail":{...}}'; t=$(date +%s)`);
    out(
      `    sig=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$(cat ${API_KEY_FILE})" -r | cut -d' ' -f1)`,
    );
    out(
      `    curl -s ${runtime.apiUrl}v1/events -H "Rapport-Signature: t=$t,v1=$sig" -H 'content-type: application/json' -d "$body"`,
    );
  }
  out(`  Rejected events       .rapport/rejected.ndjson`);
  out('Press Ctrl-C to stop.');
};

const waitForever = (runtime: LocalRapport) =>
  new Promise<void>((done) => {
    const stop = () => void runtime.stop().then(done);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

/** Tells `rapport customer` where the stack is while it is up; the caller removes it on stop. */
const announceStack = (runtime: LocalRapport, eventsEndpoint: string) => {
  // The signed API's key for this stack, readable by this user only; a new stack makes a new one.
  writeFileSync(API_KEY_FILE, runtime.apiKey, { mode: 0o600 });
  writeStackFile({
    pid: process.pid,
    dynamoDbEndpoint: runtime.dynamo.endpoint,
    tableName: runtime.names.tableName,
    region: LOCAL_REGION,
    eventsEndpoint,
    sesEndpoint: runtime.ses.endpoint,
    unsubscribeUrl: runtime.unsubscribeUrl,
    ...(runtime.apiUrl ? { apiUrl: runtime.apiUrl, apiKeyFile: API_KEY_FILE } : {}),
    startedAt: new Date().toISOString(),
  });
};

export const execute = async (invocation: Invocation): Promise<number> => {
  switch (invocation.name) {
    case 'run': {
      const { values } = invocation;
      const onlyFlows = values.flows?.length === 1 && values.flows[0] === 'none' ? [] : values.flows;
      const dataset = values.dataset ?? fromRoot('data/cdnow_sample.txt');
      const project = compileProject(readWorkflowSources());
      let purchases = parseCdnow(readFileSync(dataset, 'utf8'), dataset);
      if (values.limit !== undefined) purchases = purchases.slice(0, values.limit);
      out(`Starting DynamoDB Local, SES v2 local and the synthesized state machines...`);
      const runtime = await LocalRapport.start({
        clock: replayClock(purchases),
        ...(onlyFlows ? { onlyFlows } : {}),
      });
      const { server, endpoint } = await startEventsEndpoint(runtime);
      announceStack(runtime, endpoint);
      try {
        const summary = await replayPurchases(runtime, endpoint, purchases, {
          dataset,
          program: project.program,
          onProgress: progressBar('replay'),
        });
        printSummary(summary);
        if (values.json) writeFileSync(values.json, `${JSON.stringify(summary, null, 2)}\n`);
        const keep = values.keep ?? (process.stdout.isTTY && !values.exit);
        if (keep) {
          serveBanner(endpoint, runtime);
          await waitForever(runtime);
        }
        return summary.pointsAccountedFor && summary.failedExecutions === 0 ? 0 : 1;
      } finally {
        removeStackFile();
        server.close();
        await runtime.stop();
      }
    }
    case 'reconcile':
    case 'liability': {
      const { name, values } = invocation;
      const project = compileProject(readWorkflowSources());
      const report = await reconcileTable(
        {
          endpoint: values.endpoint,
          // The parser refuses both commands without --table.
          tableName: values.table ?? '',
          ...(values.region ? { region: values.region } : {}),
          // DynamoDB Local keeps data per access key: the local stack writes as local/local.
          ...(values.endpoint ? { credentials: LOCAL_CREDENTIALS } : {}),
          asOf: values['as-of'],
        },
        project.program,
      );
      const liability = name === 'liability' || ('liability' in values && values.liability === true);
      for (const line of formatReconcile(report, { liability })) out(line);
      return report.mismatches.length === 0 ? 0 : 1;
    }
    case 'serve': {
      const port = invocation.values.port ?? 4010;
      // The unsubscribe endpoint beside the events one (4011 by default), so links in emails stay stable.
      const runtime = await LocalRapport.start({
        unsubscribePort: port === 0 ? 0 : port + 1,
        shopifySource: invocation.values['shopify-source'],
        apiPort: invocation.values['api-port'] ?? (port === 0 ? 0 : 4012),
      });
      const { server, endpoint } = await startEventsEndpoint(runtime, port);
      announceStack(runtime, endpoint);
      try {
        serveBanner(endpoint, runtime);
        await waitForever(runtime);
      } finally {
        removeStackFile();
        server.close();
      }
      return 0;
    }
    case 'customer': {
      const [customerId = ''] = invocation.positionals;
      const project = compileProject(readWorkflowSources());
      const { 'as-of': asOf, ...values } = invocation.values;
      return print(await customerCommand(customerId, { ...values, asOf }, project));
    }
    case 'sending': {
      const [action, identity] = invocation.positionals;
      const project = compileProject(readWorkflowSources());
      const { 'as-of': asOf, ...values } = invocation.values;
      // The parser admits only these two actions.
      const verb = action === 'resume' ? 'resume' : 'status';
      return print(await sendingCommand(verb, identity, { ...values, asOf }, project.program));
    }
    case 'preview': {
      const [template = ''] = invocation.positionals;
      const project = compileProject(readWorkflowSources());
      return print(
        await previewCommand(template, invocation.values, project, {
          cwd: process.cwd(),
          previewDir: fromRoot('.rapport/preview'),
        }),
      );
    }
    case 'validate':
      return print(validateCommand(invocation.positionals));
    case 'graph': {
      const [flow = ''] = invocation.positionals;
      return print(graphCommand(flow, { markdown: invocation.values.markdown ?? false }));
    }
    case 'test-pattern': {
      const { values, positionals } = invocation;
      if (values.batch !== undefined) return print(testPatternBatchCommand(values.batch));
      const [pattern = '', event = ''] = positionals;
      return print(testPatternCommand(pattern, event));
    }
    case 'schemas':
      return print(schemasCommand({ check: invocation.values.check ?? false }));
    case 'simulate': {
      const { values, positionals } = invocation;
      const [flowId = ''] = positionals;
      const dataset = values.dataset ?? fromRoot('data/cdnow_sample.txt');
      const report = await simulateFlow(flowId, dataset, {
        limit: values.limit,
        until: values.until,
        onProgress: progressBar(`simulate ${flowId}`),
      });
      for (const line of formatSimulation(report)) out(line);
      if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    case 'import': {
      const { importCommand } = await import('./import-command.ts');
      const project = compileProject(readWorkflowSources());
      return importCommand(invocation.values, project.program, {
        out,
        keepUp: async (runtime) => {
          const { server, endpoint } = await startEventsEndpoint(runtime);
          announceStack(runtime, endpoint);
          try {
            serveBanner(endpoint, runtime);
            await waitForever(runtime);
          } finally {
            removeStackFile();
            server.close();
          }
        },
      });
    }
    case 'bench':
      return runBench();
  }
};
