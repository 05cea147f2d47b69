/**
 * Checks real answers against the served OpenAPI document: the status must be documented for that
 * operation, and a JSON body must validate against the documented schema (ajv, draft 2020-12).
 * `fetch` through it, then assert `problems` is empty.
 */
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
    await this.check(init.method ?? 'GET', path, response.clone());
    return response;
  }

  private async check(method: string, path: string, response: Response): Promise<void> {
    const pathname = new URL(path, this.origin).pathname;
    const operation = this.operations.find((candidate) => candidate.method === method && candidate.pattern.test(pathname));
    const where = `${method} ${pathname} → ${response.status}`;
    if (!operation) {
      this.problems.push(`${where}: no operation in the document`);
      return;
    }
    const name = `${operation.method} ${operation.template}`;
    this.seen.push({ operation: name, status: response.status });
    const documented = operation.responses[String(response.status)] ?? operation.responses[`${String(response.status)[0]}XX`];
    if (!documented) {
      this.problems.push(`${where}: status not documented for ${name} (${Object.keys(operation.responses).join(', ')})`);
      return;
    }
    const schema = documented.content?.['application/json']?.schema;
    const type = response.headers.get('content-type') ?? '';
    if (!schema || !type.startsWith('application/json')) {
      if (schema) this.problems.push(`${where}: documented as JSON, answered ${type}`);
      return;
    }
    const key = `${name} ${response.status}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(inlineRefs(schema, this.document) as Json);
      this.compiled.set(key, validate);
    }
    const body: unknown = await response.json();
    if (!validate(body)) {
      this.problems.push(`${where}: ${this.ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 300)}`);
    }
  }
}
