import type { Route } from './commons/http-route.ts';
import type { RuntimeDeps } from './commons/runtime.ts';

// The storefront's routes on the signed API (balance, redemption, coupon check, adjustment).

export const storefrontRoutes: Route<RuntimeDeps>[] = [];
