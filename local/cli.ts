import './polyfills.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '#domain/errors.ts';
import { matchesEventPattern, validateEventPattern } from '#domain/event-pattern.ts';
import { compileProject } from '#domain/workflow/compile.ts';
import { fromRoot } from '#infra/paths.ts';
import { readWorkflowSources } from '#infra/workflow-files.ts';
import { runBench } from './bench.ts';
import { parseCdnow } from './cdnow.ts';
import { startEventsEndpoint } from './events-endpoint.ts';
import { progressBar } from './progress.ts';
import { type ReplaySummary, replayClock, replayPurchases } from './replay.ts';
import { LocalRapport } from './runtime.ts';

const USAGE = `rapport <command> [options]

  run        Start the local stack, replay a purchase history through it, print a summary (npm start)
               --dataset PATH   CDNOW master or sample format (default ../shared/data/cdnow_sample.txt)
               --limit N        replay only the first N purchases (in time order)
               --json FILE      also write the summary as JSON
               --keep           keep the stack up afterwards (default on a terminal); --exit to stop
  serve      Start the local stack and keep it up: send events with the AWS CLI or any SDK
  validate   Check the program, every flow and email template; exit 1 listing every error
  test-pattern PATTERN_JSON EVENT_JSON   Prints true or false, like aws events test-event-pattern
  bench      Replay the CDNOW sample and print throughput, DynamoDB capacity per order, bundle sizes
`;

const out = (line = '') => process.stdout.write(`${line}\n`);

const printSummary = (s: ReplaySummary) => {
  out();
  out(`Replayed ${s.dataset}`);
  out(`  customers          ${s.customers}`);
  out(`  orders             ${s.orders} (of ${s.events} events)`);
  out(`  points awarded     ${s.pointsAwarded} (expected from the dataset: ${s.expectedPoints})`);
  out(
    `  points balances    ${s.pointsBalance} ${s.pointsAccountedFor ? '= ledger: every point accounted for' : '!= ledger: MISMATCH'}`,
  );
  out(`  emails sent        ${s.emailsSent}`);
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
          keep: { type: 'boolean' },
          exit: { type: 'boolean' },
        },
      });
      const dataset = resolve(values.dataset ?? fromRoot('../shared/data/cdnow_sample.txt'));
      const project = compileProject(readWorkflowSources());
      let purchases = parseCdnow(readFileSync(dataset, 'utf8'), dataset);
      if (values.limit) purchases = purchases.slice(0, Number(values.limit));
      out(`Starting DynamoDB Local, SES v2 local and the synthesized state machines...`);
      const runtime = await LocalRapport.start({ clock: replayClock(purchases) });
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
    case 'serve': {
      const runtime = await LocalRapport.start();
      const { server, endpoint } = await startEventsEndpoint(runtime, 4010);
      serveBanner(endpoint, runtime);
      await waitForever(runtime);
      server.close();
      return 0;
    }
    case 'validate': {
      try {
        const project = compileProject(readWorkflowSources());
        out(
          `OK: program ${project.program.id}, ${project.flows.length} active flow(s), ${project.templates.size} template(s)`,
        );
        return 0;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`${error.message}\n${error.problems.length} problem(s)\n`);
        return 1;
      }
    }
    case 'test-pattern': {
      const [pattern, event] = rest.map((arg) => JSON.parse(arg) as unknown);
      const errors = validateEventPattern(pattern);
      if (errors.length > 0) {
        process.stderr.write(`${errors.join('\n')}\n`);
        return 2;
      }
      out(String(matchesEventPattern(pattern, event)));
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
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
