import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { correlationOf, observeInvocation, redactAddresses } from '../../functions/commons/middleware.ts';
import { countMetric, createObservability } from '../../functions/commons/observability.ts';

const context = (awsRequestId: string): Context => ({
  awsRequestId,
  functionName: 'SendEmail',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:SendEmail',
  memoryLimitInMB: '256',
  logGroupName: 'SendEmail',
  logStreamName: 'test',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 10_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});

const json = (line: string) => z.record(z.string(), z.unknown()).parse(JSON.parse(line));

describe('the invocation logs', () => {
  it('takes anything shaped like an email address out of an error reason', () => {
    expect(redactAddresses('Email address is not verified: <ada@example.com>, grace.h+1@navy.mil.')).toBe(
      'Email address is not verified: <[address]>, [address].',
    );
  });

  it('writes one line per invocation with the request id, cold start, correlation ids and duration, and no address', async () => {
    // Prepare: a handler whose provider error quotes the recipient, as SES does.
    const lines: string[] = [];
    const observability = createObservability({ write: (line) => lines.push(line) });
    const handler = middy()
      .use(observeInvocation(() => observability, correlationOf))
      .handler(async (event: { fail?: boolean }) => {
        countMetric(observability.metrics, 'EmailsSent', 1);
        if (event.fail) throw new Error('Email address is not verified: ada@example.com');
        return { ok: true };
      });
    const event = { customerId: 'c-42', flowId: 'welcome', stepId: 'hello', email: 'ada@example.com' };
    // Act
    await handler(event, context('request-1'));
    await expect(handler({ ...event, fail: true }, context('request-2'))).rejects.toThrow('not verified');
    // Assess
    const [done, firstEmf, failed, secondEmf] = lines.map(json);
    expect(done).toMatchObject({
      level: 'INFO',
      message: 'done',
      function_request_id: 'request-1',
      customerId: 'c-42',
      flowId: 'welcome',
      stepId: 'hello',
    });
    expect(z.number().parse(done?.durationMs)).toBeGreaterThanOrEqual(0);
    expect(failed).toMatchObject({
      level: 'ERROR',
      message: 'failed',
      function_request_id: 'request-2',
      error: 'Error',
      reason: 'Email address is not verified: [address]',
    });
    expect(firstEmf).toMatchObject({ EmailsSent: 1 });
    expect(secondEmf).toMatchObject({ EmailsSent: 1 });
    expect(lines.join('\n')).not.toContain('@example.com');
  });

  it('takes addresses out of every value and leaves out event objects, whoever logs them', () => {
    // Prepare: a shop whose customer ids are addresses, and a careless line with an event on it.
    const lines: string[] = [];
    const { logger } = createObservability({ write: (line) => lines.push(line) });
    // Act
    logger.info('done', { customerId: 'ada@example.com', eventId: 'customer.registered:ada@example.com' });
    logger.warn('odd', { event: { detail: { email: 'ada@example.com', name: 'Ada Lovelace' } } });
    // Assess
    const [done, odd] = lines.map(json);
    expect(done).toMatchObject({ customerId: '[address]', eventId: 'customer.registered:[address]' });
    expect(odd).toMatchObject({ event: '[omitted]' });
    expect(lines.join('\n')).not.toMatch(/@example\.com|Lovelace/);
  });
});
