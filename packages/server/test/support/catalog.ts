import assert from 'node:assert/strict';
import type { StandInApi } from './stand-in-api.js';
import { FLOW_HOST_ORIGIN } from './install-flow.js';

export interface ErrorAnswer {
  error: { code: string; message: string };
}

/** JSON calls to one server with one key, for the catalog's routes. */
export function catalogClient(origin: string, key: string) {
  return async function call(path: string, init: { method?: string; json?: unknown; key?: string } = {}) {
    const response = await fetch(`${origin}${path}`, {
      method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${init.key ?? key}`, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
    const text = await response.text();
    return { status: response.status, text, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & Partial<ErrorAnswer> };
  };
}

export type CatalogCall = ReturnType<typeof catalogClient>;

/** Asserts an error answer: its status, its code and that its message matches. */
export function assertRefused(answer: Awaited<ReturnType<CatalogCall>>, status: number, code: string, message?: RegExp): void {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.body.error?.code, code, answer.text);
  if (message) assert.match(answer.body.error!.message, message);
}

/** A bearer connector on the stand-in API, as an operator would create it through the API. */
export function bearerConnector(api: StandInApi, extra: Record<string, unknown> = {}) {
  return {
    name: 'Runtime bearer',
    baseUrl: `${api.origin}/bearer`,
    authMethods: [{ type: 'bearer' }],
    actions: { me: { method: 'GET', path: '/me' } },
    ...extra,
  };
}

/** An integration offering one connector, with an `echo` action that forwards the caller's body. */
export function echoIntegration(connector: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'Runtime sync',
    connectors: [connector],
    allowedOrigins: [FLOW_HOST_ORIGIN],
    actions: { echo: { connector, method: 'POST', path: '/echo', forwardBody: true } },
    ...extra,
  };
}
