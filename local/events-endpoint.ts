import { createServer, type IncomingMessage, type Server } from 'node:http';
import * as z from 'zod';
import { matchesEventPattern, validateEventPattern } from '#domain/event-pattern.ts';
import { AccessDeniedError, type LocalRapport, RequestTooLargeError } from './runtime.ts';

// An EventBridge-compatible endpoint (AWS JSON 1.1) on localhost, so the AWS CLI and every SDK can
// send events with --endpoint-url. PutEvents and TestEventPattern are served. It is the shop's way in
// and answers as AWS answers the shop's credentials: the system bus is refused (AccessDeniedException).

const putEventsRequest = z.object({
  Entries: z
    .array(
      z.object({
        Source: z.string().optional(),
        DetailType: z.string().optional(),
        Detail: z.string().optional(),
        Time: z.union([z.string(), z.number()]).optional(),
        Resources: z.array(z.string()).optional(),
        EventBusName: z.string().optional(),
      }),
    )
    .min(1)
    .max(10, 'PutEvents takes at most 10 entries'),
});
const testPatternRequest = z.object({ EventPattern: z.string(), Event: z.string() });

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

// The SDK sends Time as epoch seconds; the CLI as an ISO string.
const toDate = (time: string | number | undefined) =>
  time === undefined ? undefined : typeof time === 'number' ? new Date(time * 1000) : new Date(time);

export const startEventsEndpoint = (
  runtime: LocalRapport,
  port = 0,
): Promise<{ server: Server; endpoint: string }> =>
  new Promise((resolve) => {
    const server = createServer(async (request, response) => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(body));
      };
      try {
        const target = String(request.headers['x-amz-target'] ?? '');
        const body: unknown = JSON.parse((await readBody(request)) || '{}');
        if (target === 'AWSEvents.PutEvents') {
          const parsed = putEventsRequest.safeParse(body);
          if (!parsed.success) {
            return reply(400, { __type: 'ValidationException', message: parsed.error.issues[0]?.message });
          }
          const entries = runtime.putEvents(
            parsed.data.Entries.map((entry) => ({ ...entry, Time: toDate(entry.Time) })),
          );
          return reply(200, {
            FailedEntryCount: entries.filter((e) => e.ErrorCode).length,
            Entries: entries,
          });
        }
        if (target === 'AWSEvents.TestEventPattern') {
          const { EventPattern, Event } = testPatternRequest.parse(body);
          const pattern: unknown = JSON.parse(EventPattern);
          const errors = validateEventPattern(pattern);
          if (errors.length > 0)
            return reply(400, { __type: 'InvalidEventPatternException', message: errors.join('; ') });
          return reply(200, { Result: matchesEventPattern(pattern, JSON.parse(Event)) });
        }
        return reply(400, {
          __type: 'UnknownOperationException',
          message: `${target || 'no target'} is not served locally`,
        });
      } catch (error) {
        if (error instanceof AccessDeniedError || error instanceof RequestTooLargeError) {
          return reply(400, { __type: error.name, message: error.message });
        }
        return reply(400, {
          __type: 'ValidationException',
          message: error instanceof Error ? error.message : String(error),
        });
      }
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        server,
        endpoint: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`,
      });
    });
  });
