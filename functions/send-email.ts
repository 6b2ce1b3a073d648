import middy from '@middy/core';
import type * as z from 'zod';
import { sendEmailInputSchema } from '#domain/contracts/tasks.ts';
import { sendEmail } from '#domain/use-cases/send-email.ts';
import { correlationOf, logInvocation, parseInput } from './commons/middleware.ts';
import { createRuntime, lazy, type RuntimeDeps } from './commons/runtime.ts';

// Flow step `send_email`: renders the template for the customer and sends it at most once.

export const inputSchema = sendEmailInputSchema;

export const createHandler = (runtime: () => RuntimeDeps) =>
  middy<z.infer<typeof inputSchema>>()
    .use(logInvocation(() => runtime().logger, correlationOf))
    .use(parseInput(inputSchema))
    .handler(async (input) => sendEmail(input, runtime()));

export const handler = createHandler(lazy(() => createRuntime(process.env)));
