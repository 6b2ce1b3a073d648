import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { compileProject } from '#domain/workflow/compile.ts';
import { allSteps } from '#domain/workflow/flow-schema.ts';
import { scanItems } from '#functions/adapters/table-items.ts';
import { fromRoot } from '#infra/paths.ts';
import { readWorkflowSources } from '#infra/workflow-files.ts';
import { parseCdnow } from './cdnow.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './emulators.ts';
import { startEventsEndpoint } from './events-endpoint.ts';
import { type JourneyCounts, noJourneys, replayClock, replayPurchases } from './replay.ts';
import { type ExecutionRecord, LocalRapport } from './runtime.ts';

// rapport simulate FLOW --dataset PATH: a backtest. Only that flow is deployed on the local stack;
// the history is replayed as a shop would have sent it, on the virtual clock, and the report says
// how far customers got: per step, the customers who reached it, the emails and the points.

export interface StepReport {
  id: string;
  type: string;
  customers: number;
  emails: number;
  points: number;
}

export interface SimulationReport {
  flowId: string;
  dataset: string;
  events: number;
  journeys: JourneyCounts;
  steps: StepReport[];
  emailsSent: number;
  pointsAwarded: number;
  journeysWaiting: number;
  wallSeconds: number;
}

const customerOf = (execution: ExecutionRecord): string | undefined => {
  const input = execution.input as { detail?: { customerId?: string }; journey?: { customerId?: string } };
  return input.journey?.customerId ?? input.detail?.customerId;
};

export const simulateFlow = async (
  flowId: string,
  datasetPath: string,
  options: {
    limit?: number | undefined;
    workflowsDir?: string | undefined;
    onProgress?: (done: number, total: number) => void;
    /** Run the clock on after the last purchase (ISO date), so journeys play out. */
    until?: string | undefined;
  } = {},
): Promise<SimulationReport> => {
  const project = compileProject(readWorkflowSources(options.workflowsDir));
  const flow = project.flows.find((f) => f.id === flowId)?.flow;
  if (!flow) {
    throw new Error(`no active flow "${flowId}" (flows: ${project.flows.map((f) => f.id).join(', ')})`);
  }
  let purchases = parseCdnow(readFileSync(datasetPath, 'utf8'), datasetPath);
  if (options.limit) purchases = purchases.slice(0, options.limit);
  const runtime = await LocalRapport.start({
    onlyFlows: [flowId],
    trace: true,
    clock: replayClock(purchases),
    outputDir: fromRoot('.rapport/simulate'),
    workflowsDir: options.workflowsDir,
  });
  const { server, endpoint } = await startEventsEndpoint(runtime);
  try {
    const summary = await replayPurchases(runtime, endpoint, purchases, {
      dataset: datasetPath,
      program: project.program,
      onProgress: options.onProgress,
      until: options.until,
    });

    // Who reached each step: the states each execution of this flow entered.
    const reached = new Map<string, Set<string>>();
    for (const execution of runtime.executions) {
      const customer = customerOf(execution);
      if (!customer) continue;
      for (const state of execution.path) {
        const set = reached.get(state) ?? new Set<string>();
        set.add(customer);
        reached.set(state, set);
      }
    }

    // Emails and points per step, from the send records and the ledger.
    const emails = new Map<string, number>();
    const points = new Map<string, number>();
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: runtime.dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    for await (const page of scanItems(client, runtime.names.tableName)) {
      for (const read of page) {
        if (read.kind === 'send' && read.item.status === 'sent') {
          // flow#event#step: an event id may hold a '#', a step id does not.
          const stepId = read.item.key.split('#').at(-1) ?? '';
          emails.set(stepId, (emails.get(stepId) ?? 0) + 1);
        }
        if (read.kind === 'ledger' && read.item.flowId === flowId && read.item.kind === 'bonus') {
          const stepId = read.item.entryId.split(':').at(-1);
          if (stepId) points.set(stepId, (points.get(stepId) ?? 0) + read.item.points);
        }
      }
    }
    client.destroy();

    const steps = allSteps(flow.steps).map((step) => ({
      id: step.id,
      type: step.type,
      customers: reached.get(step.id)?.size ?? 0,
      emails: emails.get(step.id) ?? 0,
      points: points.get(step.id) ?? 0,
    }));
    const journeys = summary.journeys[flowId] ?? noJourneys();
    return {
      flowId,
      dataset: datasetPath,
      events: purchases.length,
      journeys,
      steps,
      emailsSent: [...emails.values()].reduce((a, b) => a + b, 0),
      pointsAwarded: [...points.values()].reduce((a, b) => a + b, 0),
      journeysWaiting: journeys.waiting,
      wallSeconds: summary.wallSeconds,
    };
  } finally {
    server.close();
    await runtime.stop();
  }
};

export const formatSimulation = (report: SimulationReport): string[] => [
  `Simulated flow ${report.flowId} over ${report.dataset} (${report.events} purchases)`,
  `  journeys: ${report.journeys.entered} entered, ${report.journeys.completed} completed, ${report.journeys.exited} exited, ${report.journeys.waiting} still waiting at the end, ${report.journeys.converted} converted`,
  '  step                       type             customers   emails   points',
  ...report.steps.map(
    (s) =>
      `  ${s.id.padEnd(27)}${s.type.padEnd(17)}${String(s.customers).padStart(9)}${String(s.emails).padStart(9)}${String(s.points).padStart(9)}`,
  ),
  `  emails that would be sent: ${report.emailsSent}; points awarded: ${report.pointsAwarded}; wall time ${report.wallSeconds} s`,
];
