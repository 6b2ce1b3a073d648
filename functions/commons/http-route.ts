// One route of Rapport's signed HTTPS API (the Api function's URL): the request as the router hands
// it over once the signature is verified, and the answer it sends back as JSON.

export type HttpMethod = 'GET' | 'POST';

export interface RouteRequest {
  /** Path parameters named in the route's path (`:customerId`), decoded. */
  params: Record<string, string>;
  query: Record<string, string>;
  /** The body parsed as JSON (undefined when empty); each route parses it with its own zod schema. */
  body: unknown;
  /** Lower-cased header names. */
  headers: Record<string, string>;
}

export interface RouteResponse {
  status: number;
  body: unknown;
}

export interface Route<Deps> {
  method: HttpMethod;
  /** `/v1/customers/:customerId/loyalty`: literal segments and `:name` parameters. */
  path: string;
  handle(request: RouteRequest, deps: Deps): Promise<RouteResponse>;
}
