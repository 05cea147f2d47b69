/**
 * Builds the OpenAPI 3.1 document from the table of contents (src/routes.ts) and the operations
 * table: every schema in it is converted from the zod schema the route validates or answers with
 * (`z.toJSONSchema`, draft 2020-12, which is OpenAPI 3.1's own dialect), never written by hand.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorEnvelopeSchema } from '@patchbay/contract';
import { z } from 'zod';
import { PROXY_METHODS } from '../connections/proxy.js';
import { PACKAGE_ROOT } from '../package-root.js';
import type { RouteLine } from '../http/route-table.js';
import { type Answer, type Credential, isOtherContent, type OperationDoc, TAGS } from './operation.js';
import { operationKey, OPERATIONS } from './operations/index.js';

type JsonSchema = Record<string, unknown>;
type Codes = Record<number, Set<string>>;

const { version } = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };

/** A zod schema as JSON Schema: request bodies and parameters as sent (`input`), answers as sent back (`output`). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // `unrepresentable: 'any'`: a refinement or transform has no JSON Schema; its base type still
  // describes the value, and the server's parse remains the final word.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' });
  return rest;
}

/** Express's `:name` and `{*rest}` as OpenAPI's `{name}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/\{\*(\w+)\}/g, '{$1}').replace(/:(\w+)/g, '{$1}');
}

const SECURITY_SCHEMES: Record<Credential, JsonSchema> = {
  accessKey: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'pbk_…',
    description:
      'An access key (`Authorization: Bearer pbk_…`), for the host’s backend and operators; never in a browser. A short-lived token from `POST /v1/tokens` works the same way. Each operation names the scope it needs; `admin` passes every check.',
  },
  sessionToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'ses_…_secret_…',
    description: 'The browser-held token of one session (the `token` of `POST …/session`); it reaches only its own session and install.',
  },
  partnerKey: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'pbp_…',
    description: 'A partner’s per-environment key; events are allowed by its topic grants.',
  },
  portalSession: {
    type: 'apiKey',
    in: 'cookie',
    name: 'patchbay_portal',
    description:
      'The partner portal’s session from a redeemed link: this httpOnly cookie on the server’s own site, or the session token as `Authorization: Bearer` from a host in `partnerEmbedOrigins`.',
  },
};

/** Refusals every route with that credential may answer (http/auth.ts decides them before the handler). */
const CREDENTIAL_ERRORS: Record<Credential, Record<number, readonly string[]>> = {
  accessKey: { 401: ['invalid_credentials', 'key_inactive', 'key_expired'], 403: ['ip_restricted', 'insufficient_scope'], 429: ['rate_limited'] },
  sessionToken: { 401: ['invalid_credentials'], 403: ['session_forbidden'], 429: ['rate_limited'] },
  partnerKey: { 401: ['invalid_credentials', 'key_inactive', 'key_expired'], 403: ['partner_suspended'], 429: ['rate_limited'] },
  portalSession: {},
};
const INPUT_ERRORS = { 400: ['invalid_request'] } as const;
const BODY_ERRORS = { 400: ['invalid_request', 'invalid_json'], 413: ['payload_too_large'] } as const;
/** Any route that reads the store. */
const SERVER_ERRORS = { 500: ['internal_error'], 503: ['store_unavailable'] } as const;
/** The integration API checks the calling page's origin against the integration's allowedOrigins (http/cors.ts). */
const INTEGRATION_API = '/v1/integrations/:integrationId/';

function addCodes(into: Codes, codes: Record<number, readonly string[]> | undefined): void {
  for (const [status, list] of Object.entries(codes ?? {})) {
    const set = (into[Number(status)] ??= new Set());
    list.forEach((code) => set.add(code));
  }
}

/** The refusals one route may answer, by status. */
export function errorCodesOf(path: string, operation: OperationDoc): Record<number, string[]> {
  const codes: Codes = {};
  // Pages answer their errors as pages: only JSON routes get the envelope.
  if (operation.tag === 'Pages') return {};
  for (const credential of operation.auth ?? []) addCodes(codes, CREDENTIAL_ERRORS[credential]);
  if (operation.auth?.length && path.startsWith(INTEGRATION_API)) addCodes(codes, { 403: ['origin_not_allowed'] });
  if (operation.query || operation.params) addCodes(codes, INPUT_ERRORS);
  // A path parameter that is not valid percent-encoding is refused before any route code runs.
  if (/[:{]/.test(path)) addCodes(codes, { 400: ['bad_request'] });
  if (operation.body || operation.form) addCodes(codes, BODY_ERRORS);
  addCodes(codes, operation.errors);
  addCodes(codes, SERVER_ERRORS);
  return Object.fromEntries(Object.entries(codes).map(([status, set]) => [status, [...set].sort()]));
}

function answerOf(status: number, answer: Answer): JsonSchema {
  if (isOtherContent(answer)) {
    if (answer.mediaType === null) return { description: answer.description };
    const schema = answer.mediaType === 'application/json' ? { type: 'object' } : { type: 'string' };
    return { description: answer.description, content: { [answer.mediaType]: { schema } } };
  }
  return {
    description: answer.description ?? (status === 201 ? 'Created.' : 'OK.'),
    content: { 'application/json': { schema: jsonSchemaOf(answer, 'output') } },
  };
}

function errorAnswerOf(codes: string[]): JsonSchema {
  return {
    description: codes.map((code) => `\`${code}\``).join(', '),
    content: {
      'application/json': {
        // The shared envelope, with the codes this route may answer at this status.
        schema: { allOf: [{ $ref: '#/components/schemas/Error' }, { properties: { error: { properties: { code: { enum: codes } } } } }] },
      },
    },
  };
}

function parametersOf(path: string, operation: OperationDoc): JsonSchema[] {
  const names = [...path.matchAll(/\{\*?(\w+)\}|:(\w+)/g)].map((match) => (match[1] ?? match[2])!);
  const inPath = names.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: operation.params?.[name] ? jsonSchemaOf(operation.params[name], 'input') : { type: 'string' },
  }));
  if (!operation.query) return inPath;
  const query = jsonSchemaOf(operation.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  const inQuery = Object.entries(query.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return { name, in: 'query', required: query.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest };
  });
  return [...inPath, ...inQuery];
}

function requestBodyOf(operation: OperationDoc): JsonSchema | undefined {
  const schema = operation.body ?? operation.form;
  if (!schema) return undefined;
  const mediaType = operation.body ? 'application/json' : 'application/x-www-form-urlencoded';
  // A body that may be left out (every field optional) is not required.
  return { required: !schema.safeParse({}).success, content: { [mediaType]: { schema: jsonSchemaOf(schema, 'input') } } };
}

function operationObject(line: RouteLine, method: string, operation: OperationDoc, operationId: string): JsonSchema {
  const [, path] = line;
  const responses: Record<string, JsonSchema> = {};
  for (const [status, answer] of Object.entries(operation.answers)) responses[status] = answerOf(Number(status), answer);
  for (const [status, codes] of Object.entries(errorCodesOf(path, operation))) responses[status] = errorAnswerOf(codes);
  if (operation.otherwise) responses.default = answerOf(0, operation.otherwise);
  if (operation.tag === 'Pages') {
    const page = { 'text/html': { schema: { type: 'string' } } };
    responses['4XX'] = { description: 'A page for the person naming what went wrong (an expired or unknown session, a refused origin, …).', content: page };
    responses['5XX'] = { description: 'A page saying the sign-in could not be completed.', content: page };
  }
  const scopeNote = operation.scope ? `\n\n**Scope:** \`${operation.scope}\` (an access key; \`admin\` passes).` : '';
  return {
    operationId,
    summary: operation.summary,
    ...(operation.description || scopeNote ? { description: `${operation.description ?? ''}${scopeNote}`.trim() } : {}),
    tags: [operation.tag],
    // OpenAPI 3.1 lets a non-OAuth scheme list the roles it needs: here, the access key's scope.
    security: (operation.auth ?? []).map((credential) => ({ [credential]: credential === 'accessKey' && operation.scope ? [operation.scope] : [] })),
    parameters: parametersOf(path, operation),
    ...(requestBodyOf(operation) ? { requestBody: requestBodyOf(operation) } : {}),
    responses,
  };
}

/** The routes of `ROUTES` the operations table does not describe (the test names them). */
export function undocumentedRoutes(routes: readonly RouteLine[]): string[] {
  return routes.map(([method, path]) => operationKey(method, path)).filter((key) => !OPERATIONS[key]);
}

/** Methods the proxy's `*` line stands for: the ones it forwards (others are refused with 405). */
const methodsOf = (method: string) => (method === '*' ? PROXY_METHODS : [method]);

export function buildOpenApiDocument(routes: readonly RouteLine[], options: { serverUrl: string }): JsonSchema {
  const handlerCounts = new Map<string, number>();
  for (const [, , handler] of routes) handlerCounts.set(handler, (handlerCounts.get(handler) ?? 0) + 1);
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const line of routes) {
    const [method, path, handler] = line;
    const operation = OPERATIONS[operationKey(method, path)];
    if (!operation) continue;
    const item = (paths[openApiPath(path)] ??= {});
    for (const each of methodsOf(method)) {
      const base = handlerCounts.get(handler) === 1 ? handler.replace(/Handler$/, '') : camelOf(each, path);
      const operationId = method === '*' ? `${base}${each[0]}${each.slice(1).toLowerCase()}` : base;
      item[each.toLowerCase()] = operationObject(line, each, operation, operationId);
    }
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'Patchbay API',
      version,
      description:
        'The companion server of Patchbay: sessions and installs for the widget, connectors and connections, partners and events, keys and audit. Every error answers `{"error": {"code", "message"}}`; every list answers `{"data": [...], "next": cursor | null}` and pages with `?limit=&cursor=`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: options.serverUrl }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas: { Error: { ...jsonSchemaOf(errorEnvelopeSchema, 'output'), description: 'Every refusal and failure, whatever the route.' } },
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

function camelOf(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return [method.toLowerCase(), ...words.map((word) => word[0]!.toUpperCase() + word.slice(1))].join('');
}
