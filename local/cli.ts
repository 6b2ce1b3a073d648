import './polyfills.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compileProject } from '#domain/workflow/compile.ts';
import { fromRoot } from '#infra/paths.ts';
import { readWorkflowSources } from '#infra/workflow-files.ts';
import { runBench } from './bench.ts';
import { parseCdnow } from './cdnow.ts';
import {
  type CommandResult,
  graphCommand,
  schemasCommand,
  testPatternBatchCommand,
  testPatternCommand,
  validateCommand,
} from './commands.ts';
import { LOCAL_CREDENTIALS } from './emulators.ts';
import { startEventsEndpoint } from './events-endpoint.ts';
import { progressBar } from './progress.ts';
import { formatReconcile, reconcileTable } from './reconcile.ts';
import { type ReplaySummary, replayClock, replayPurchases } from './replay.ts';
import { LocalRapport } from './runtime.ts';
import { formatSimulation, simulateFlow } from './simulate.ts';

const USAGE = `rapport <command> [options]

  run        Start the local stack, replay a purchase history through it, print a summary (npm start)
               --dataset PATH   CDNOW master or sample format (default data/cdnow_sample.txt)
               --limit N        replay only the first N purchases (in time order)
               --json FILE      also write the summary as JSON
               --flows a,b      deploy only these flows (none: the loyalty program alone)
               --keep           keep the stack up afterwards (default on a terminal); --exit to stop
             Exit 1 if reconcile finds a mismatch or an execution failed
  serve      Start the local stack and keep it up: send events with the AWS CLI or any SDK
  validate [PATH...]
             Check the program, every flow and email template; exit 1 listing every error (file:line:column).
             PATHs (files or folders, relative to here) check only those files, against the program and
             templates of their workflows folder (the one holding program.yaml)
  graph FLOW Print a flow as a Mermaid flowchart; FLOW is an id in workflows/flows or a path to a YAML file
               --markdown       wrap it in a \`\`\`mermaid fence
  test-pattern PATTERN_JSON EVENT_JSON
             Print true or false, like aws events test-event-pattern; exit 2 for an invalid pattern
  test-pattern --batch FILE.ndjson
             One {"pattern": ..., "event": ...} a line (FILE - reads stdin); print true, false or
             "error: line N: reason" for each non-blank line; exit 1 if any line is invalid
  simulate FLOW [--dataset PATH] [--limit N] [--until YYYY-MM-DD] [--json FILE]
             Backtest one flow: replay a purchase history through the local stack with only that flow
             deployed, on the virtual clock; report per step the customers who reached it, emails, points,
             and the journeys still waiting at the end
  schemas    Write the editor JSON Schemas schemas/flow.schema.json and schemas/program.schema.json
               --check          write nothing; exit 1 if the files differ from the generated ones (for CI)
  reconcile [--endpoint URL] --table NAME [--region R] [--liability]
             Check every points balance against its ledger entries, lots and orders over the whole table;
             print points issued, redeemed, expired, outstanding and customers per tier; exit 1 on any mismatch.
             Without --endpoint it reads the real table with your AWS credentials
  liability  The same, with outstanding points and their value by expiry month
  bench      Replay the CDNOW sample and print throughput, DynamoDB capacity per order, bundle sizes
`;

const out = (line = '') => process.stdout.write(`${line}\n`);

const print = ({ code, stdout, stderr }: CommandResult): number => {
  for (const line of stdout) out(line);
  if (stderr.length > 0) process.stderr.write(`${stderr.join('\n')}\n`);
  return code;
};

const usageError = (message: string): number => {
  process.stderr.write(`${message}\n\n${USAGE}`);
  return 2;
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
  out(`  Rejected events       .rapport/rejected.ndjson`);
  out('Press Ctrl-C to stop.');
};

const waitForever = (runtime: LocalRapport) =>
  new Promise<void>((done) => {
    const stop = () => void runtime.stop().then(done);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

const main = async (argv: string[]): Promise<number> => {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': {
      const { values } = parseArgs({
        args: rest,
        options: {
          dataset: { type: 'string' },
          limit: { type: 'string' },
          json: { type: 'string' },
          flows: { type: 'string' },
          keep: { type: 'boolean' },
          exit: { type: 'boolean' },
        },
      });
      const onlyFlows =
        values.flows === undefined ? undefined : values.flows === 'none' ? [] : values.flows.split(',');
      const dataset = resolve(values.dataset ?? fromRoot('data/cdnow_sample.txt'));
      const project = compileProject(readWorkflowSources());
      let purchases = parseCdnow(readFileSync(dataset, 'utf8'), dataset);
      if (values.limit) purchases = purchases.slice(0, Number(values.limit));
      out(`Starting DynamoDB Local, SES v2 local and the synthesized state machines...`);
      const runtime = await LocalRapport.start({
        clock: replayClock(purchases),
        ...(onlyFlows ? { onlyFlows } : {}),
      });
      const { server, endpoint } = await startEventsEndpoint(runtime);
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
        server.close();
        await runtime.stop();
      }
    }
    case 'reconcile':
    case 'liability': {
      const { values } = parseArgs({
        args: rest,
        options: {
          endpoint: { type: 'string' },
          table: { type: 'string' },
          region: { type: 'string' },
          liability: { type: 'boolean' },
        },
      });
      if (!values.table) return usageError(`${command} needs --table NAME`);
      const project = compileProject(readWorkflowSources());
      const report = await reconcileTable(
        {
          endpoint: values.endpoint,
          tableName: values.table,
          ...(values.region ? { region: values.region } : {}),
          // DynamoDB Local keeps data per access key: the local stack writes as local/local.
          ...(values.endpoint ? { credentials: LOCAL_CREDENTIALS } : {}),
        },
        project.program,
      );
      for (const line of formatReconcile(report, { liability: command === 'liability' || values.liability }))
        out(line);
      return report.mismatches.length === 0 ? 0 : 1;
    }
    case 'serve': {
      const runtime = await LocalRapport.start();
      const { server, endpoint } = await startEventsEndpoint(runtime, 4010);
      serveBanner(endpoint, runtime);
      await waitForever(runtime);
      server.close();
      return 0;
    }
    case 'validate': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true });
      return print(validateCommand(positionals));
    }
    case 'graph': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { markdown: { type: 'boolean' } },
      });
      const [flow] = positionals;
      if (flow === undefined || positionals.length > 1)
        return usageError('graph takes one FLOW: an id or a path');
      return print(graphCommand(flow, { markdown: values.markdown ?? false }));
    }
    case 'test-pattern': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { batch: { type: 'string' } },
      });
      if (values.batch !== undefined) {
        if (positionals.length > 0) return usageError('test-pattern --batch FILE takes no other arguments');
        return print(testPatternBatchCommand(values.batch));
      }
      const [pattern, event] = positionals;
      if (pattern === undefined || event === undefined || positionals.length > 2) {
        return usageError('test-pattern takes PATTERN_JSON EVENT_JSON, or --batch FILE.ndjson');
      }
      return print(testPatternCommand(pattern, event));
    }
    case 'schemas': {
      const { values } = parseArgs({ args: rest, options: { check: { type: 'boolean' } } });
      return print(schemasCommand({ check: values.check ?? false }));
    }
    case 'simulate': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          dataset: { type: 'string' },
          limit: { type: 'string' },
          json: { type: 'string' },
          until: { type: 'string' },
        },
      });
      const [flowId] = positionals;
      if (!flowId) {
        out(USAGE);
        return 2;
      }
      const dataset = resolve(values.dataset ?? fromRoot('data/cdnow_sample.txt'));
      const report = await simulateFlow(flowId, dataset, {
        limit: values.limit ? Number(values.limit) : undefined,
        until: values.until,
        onProgress: progressBar(`simulate ${flowId}`),
      });
      for (const line of formatSimulation(report)) out(line);
      if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    case 'bench':
      return runBench();
    default:
      out(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A mistyped option or argument: say so with the usage, not a stack trace.
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
