/**
 * Checks real answers against the served OpenAPI document: the status must be documented for that
 * operation, and a JSON body must validate against the documented schema (ajv, draft 2020-12).
 * `fetch` through it, then assert `problems` is empty.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

type Json = Record<string, unknown>;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  responses: Record<string, { content?: Record<string, { schema?: Json }> }>;
}

export interface SeenAnswer {
  operation: string;
  status: number;
}

/** Replaces `#/…` references with what they point at, so each schema compiles on its own. */
function inlineRefs(node: unknown, document: Json): unknown {
  if (Array.isArray(node)) return node.map((item) => inlineRefs(item, document));
  if (node === null || typeof node !== 'object') return node;
  const ref = (node as Json).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((at, key) => (at as Json)[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
    return inlineRefs(target, document);
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, inlineRefs(value, document)]));
}

export class OpenApiAnswers {
  readonly problems: string[] = [];
  readonly seen: SeenAnswer[] = [];
  private readonly operations: Operation[] = [];
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(
    private readonly origin: string,
    readonly document: Json,
  ) {
    addFormats(this.ajv);
    // zod writes `.startsWith()` as this format beside the equivalent `pattern`, which ajv checks.
    this.ajv.addFormat('starts_with', true);
    // Path items in the document's order, which is the order Express tries the routes in.
    for (const [template, item] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
      const pattern = new RegExp(
        `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{(\w+)\\?\}/g, (_m, name: string) => (name === 'rest' ? '(.+)' : '([^/]+)'))}$`,
      );
      for (const [method, operation] of Object.entries(item)) {
        this.operations.push({ method: method.toUpperCase(), template, pattern, responses: operation.responses as Operation['responses'] });
      }
    }
  }

  static async load(origin: string): Promise<OpenApiAnswers> {
    const response = await fetch(`${origin}/openapi.json`);
    return new OpenApiAnswers(origin, (await response.json()) as Json);
  }

  /** `fetch`, then checks the answer; the answer is returned unread (its body is cloned for the check). */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(`${this.origin}${path}`, { redirect: 'manual', ...init });
    const copy = response.clone();
    this.check(init.method ?? 'GET', path, copy.status, copy.headers.get('content-type') ?? '', await copy.text());
    return response;
  }

  /**
   * Wraps the app's request listener so every answer it gives is checked as it finishes (the
   * harness does this for a whole test file with PATCHBAY_CHECK_ANSWERS=1).
   */
  listener(app: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      // Read now: routers rewrite req.url as they strip their mount paths.
      const url = req.url ?? '/';
      const chunks: Buffer[] = [];
      const keep = (chunk: unknown, encoding?: unknown) => {
        if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
        chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
      };
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.write = ((...args: unknown[]) => (keep(args[0], args[1]), write(...args))) as typeof res.write;
      res.end = ((...args: unknown[]) => (keep(args[0], args[1]), end(...args))) as typeof res.end;
      res.on('finish', () => {
        const type = String(res.getHeader('content-type') ?? '');
        if (req.method === 'HEAD' || req.method === 'OPTIONS' || type.startsWith('text/event-stream')) return;
        this.check(req.method ?? 'GET', url, res.statusCode, type, Buffer.concat(chunks).toString('utf8'));
      });
      app(req, res);
    };
  }

  check(method: string, path: string, status: number, type: string, body: string): void {
    // The path as sent, not normalised: `..` segments must reach the route that refuses them.
    const pathname = path.split('?')[0]!;
    const operation = this.operations.find((candidate) => candidate.method === method && candidate.pattern.test(pathname));
    const where = `${method} ${pathname} → ${status}`;
    if (!operation) {
      // An unknown path is the app's own 404, documented nowhere but answered with the envelope.
      if (status !== 404) this.problems.push(`${where}: no operation in the document`);
      return;
    }
    const name = `${operation.method} ${operation.template}`;
    this.seen.push({ operation: name, status });
    const documented = operation.responses[String(status)] ?? operation.responses[`${String(status)[0]}XX`] ?? operation.responses.default;
    if (!documented) {
      this.problems.push(`${where}: status not documented for ${name} (${Object.keys(operation.responses).join(', ')})`);
      return;
    }
    const schema = documented.content?.['application/json']?.schema;
    if (!schema || !type.startsWith('application/json')) {
      if (schema) this.problems.push(`${where}: documented as JSON, answered ${type}`);
      return;
    }
    const key = `${name} ${status}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(inlineRefs(schema, this.document) as Json);
      this.compiled.set(key, validate);
    }
    const value: unknown = JSON.parse(body);
    if (!validate(value)) {
      this.problems.push(`${where}: ${this.ajv.errorsText(validate.errors)} in ${body.slice(0, 300)}`);
    }
  }
}
