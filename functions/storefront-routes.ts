import * as z from 'zod';
import {
  adjustmentRequestSchema,
  couponCodeSchema,
  redemptionRequestSchema,
  type StorefrontInput,
} from '#domain/contracts/storefront.ts';
import {
  adjustPoints,
  checkCoupon,
  loyaltyStatus,
  redeem,
  type StorefrontDeps,
} from '#domain/use-cases/storefront.ts';
import type { Route, RouteRequest, RouteResponse } from './commons/http-route.ts';
import type { RuntimeDeps } from './commons/runtime.ts';

// The storefront's routes on the signed API (balance, redemption, coupon check, adjustment), and the
// one mapping of each use case's outcome to an answer that the Storefront function (IAM) shares.

/** The deps the storefront's use cases take; the program is bundled with the function that serves them. */
export const storefrontDeps = (base: RuntimeDeps): StorefrontDeps => {
  if (!base.program) throw new Error('this function carries no program (RAPPORT_PROGRAM)');
  return { ...base, program: base.program };
};

const refused = (status: number, error: string, reason: string, more: object = {}): RouteResponse => ({
  status,
  body: { error, reason, ...more },
});
const notFound = (customerId: string) => refused(404, 'NotFound', `customer ${customerId} is not known`);
const erased = (customerId: string) =>
  refused(410, 'CustomerErased', `customer ${customerId} was erased at their request`);

/** Runs one storefront call and answers it as HTTP does; the Storefront function returns the same. */
export const answerStorefront = async (
  input: StorefrontInput,
  deps: StorefrontDeps,
): Promise<RouteResponse> => {
  switch (input.action) {
    case 'status': {
      const status = await loyaltyStatus(input.customerId, deps);
      return status ? { status: 200, body: status } : notFound(input.customerId);
    }
    case 'redeem': {
      const result = await redeem(input, deps);
      if (result.outcome === 'unknown-customer') return notFound(input.customerId);
      if (result.outcome === 'erased') return erased(input.customerId);
      if (result.outcome === 'refused')
        return refused(
          422,
          result.error,
          result.reason,
          result.pointsShort ? { pointsShort: result.pointsShort } : {},
        );
      const duplicate = result.outcome === 'duplicate';
      return {
        status: duplicate ? 200 : 201,
        body: { coupon: result.coupon, balance: result.balance, duplicate },
      };
    }
    case 'check-coupon': {
      const check = await checkCoupon(input.code, deps);
      return { status: check.valid === false && check.reason === 'unknown' ? 404 : 200, body: check };
    }
    case 'adjust': {
      const { action: _, customerId, ...request } = input;
      const result = await adjustPoints(customerId, request, deps);
      if (result.outcome === 'unknown-customer') return notFound(customerId);
      if (result.outcome === 'erased') return erased(customerId);
      if (result.outcome === 'conflict') return refused(409, 'RequestIdReused', result.reason);
      if (result.outcome === 'refused') return refused(422, result.error, result.reason);
      const duplicate = result.outcome === 'duplicate';
      const { entryId, points, reason, actor, at } = result.entry;
      return {
        status: duplicate ? 200 : 201,
        body: { adjustment: { entryId, points, reason, actor, at }, points: result.points, duplicate },
      };
    }
  }
};

/** A body that does not parse: 400 naming the first field (`body.points: must not be zero`). */
const invalid = (error: z.ZodError, prefix: string): RouteResponse => {
  const issue = error.issues[0];
  const field = [prefix, ...(issue?.path.map(String) ?? [])].join('.');
  return refused(400, 'InvalidRequest', `${field}: ${issue?.message ?? 'invalid'}`, { field });
};

const parsed = <S extends z.ZodType>(schema: S, value: unknown, prefix: string) => {
  const result = schema.safeParse(value);
  return result.success
    ? { ok: true as const, data: result.data }
    : { ok: false as const, answer: invalid(result.error, prefix) };
};

const customerIdOf = (request: RouteRequest) =>
  parsed(z.string().min(1).max(128), request.params.customerId, 'params.customerId');

export const storefrontRoutes: Route<RuntimeDeps>[] = [
  {
    method: 'GET',
    path: '/v1/customers/:customerId/loyalty',
    handle: async (request, deps) => {
      const customerId = customerIdOf(request);
      if (!customerId.ok) return customerId.answer;
      return answerStorefront({ action: 'status', customerId: customerId.data }, storefrontDeps(deps));
    },
  },
  {
    method: 'POST',
    path: '/v1/customers/:customerId/redemptions',
    handle: async (request, deps) => {
      const customerId = customerIdOf(request);
      if (!customerId.ok) return customerId.answer;
      const body = parsed(redemptionRequestSchema, request.body ?? {}, 'body');
      if (!body.ok) return body.answer;
      return answerStorefront(
        { action: 'redeem', customerId: customerId.data, ...body.data },
        storefrontDeps(deps),
      );
    },
  },
  {
    method: 'GET',
    path: '/v1/coupons/:code',
    handle: async (request, deps) => {
      const code = parsed(couponCodeSchema, request.params.code, 'params.code');
      if (!code.ok) return code.answer;
      return answerStorefront({ action: 'check-coupon', code: code.data }, storefrontDeps(deps));
    },
  },
  {
    method: 'POST',
    path: '/v1/customers/:customerId/adjustments',
    handle: async (request, deps) => {
      const customerId = customerIdOf(request);
      if (!customerId.ok) return customerId.answer;
      const body = parsed(adjustmentRequestSchema, request.body ?? {}, 'body');
      if (!body.ok) return body.answer;
      return answerStorefront(
        { action: 'adjust', customerId: customerId.data, ...body.data },
        storefrontDeps(deps),
      );
    },
  },
];
