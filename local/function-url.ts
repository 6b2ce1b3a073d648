import { createServer, type IncomingMessage, type Server } from 'node:http';
import * as z from 'zod';

// A Lambda function URL on localhost: each HTTP request becomes the payload 2.0 event AWS hands the
// function, and its answer ({ statusCode, headers, body }) the HTTP response. The local stack serves
// the Unsubscribe function on it, so the links in locally sent emails can be clicked over real HTTP.

/** Function URLs refuse request bodies over 6 MB; ours are a few bytes, so the cap can be small. */
const MAX_REQUEST_BYTES = 64 * 1024;

const responseSchema = z.object({
  statusCode: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().default(''),
});

const readBody = async (request: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > maxBytes) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
};

/** The event a function URL invokes with, from a node:http request (the parts our handlers read). */
const toEvent = (request: IncomingMessage, body: Buffer) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers = Object.fromEntries(
    Object.entries(request.headers).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, Array.isArray(value) ? value.join(',') : value]],
    ),
  );
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      timeEpoch: Date.now(),
    },
    // Function URLs hand over a form body base64-encoded; handlers must read it either way.
    ...(body.length > 0
      ? { body: body.toString('base64'), isBase64Encoded: true }
      : { isBase64Encoded: false }),
  };
};

export const startFunctionUrl = (
  invoke: (event: unknown) => Promise<unknown>,
  port = 0,
  /** The signed API takes up to 1 MB and answers larger bodies itself: give it AWS's 6 MB. */
  maxRequestBytes = MAX_REQUEST_BYTES,
): Promise<{ server: Server; url: string }> =>
  new Promise((resolve, reject) => {
    const server = createServer(async (request, response) => {
      try {
        const body = await readBody(request, maxRequestBytes);
        if (!body) {
          response.writeHead(413, { 'content-type': 'text/plain' });
          response.end('Request Entity Too Large');
          return;
        }
        const answer = responseSchema.parse(await invoke(toEvent(request, body)));
        response.writeHead(answer.statusCode, answer.headers);
        response.end(request.method === 'HEAD' ? undefined : answer.body);
      } catch {
        // As a function URL answers a function that failed: no detail leaves the function.
        response.writeHead(502, { 'content-type': 'text/plain' });
        response.end('Internal Server Error');
      }
    });
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address ? address.port : port;
      // Trailing slash, as AWS spells a function URL.
      resolve({ server, url: `http://127.0.0.1:${chosen}/` });
    });
  });
