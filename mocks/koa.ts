/**
 * The mock handlers as middleware for @web/test-runner's dev server (koa), so the component tests
 * make real fetches over loopback, in every engine alike, without a service worker in the page:
 * msw's `getResponse` answers a request from the handlers in Node; requests no handler answers go
 * on to the dev server (the test files themselves).
 */
import type { IncomingMessage } from 'node:http';
import { getResponse, type HttpHandler } from 'msw';

/** The part of koa's context this adapter uses. */
interface KoaContext {
  method: string;
  href: string;
  path: string;
  req: IncomingMessage;
  status: number;
  body: unknown;
  respond: boolean;
  set(field: string, value: string | string[]): void;
}

/** The request's body as text: the mocked API speaks JSON only. */
async function bodyOf(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : undefined;
}

/** `paths`: the path prefixes the handlers answer; anything else (the test files, the runner's own requests) is never read here. */
export function koaMiddleware(handlers: HttpHandler[], paths: string[]) {
  // msw's first answer takes ~100 ms (lazy set-up); pay it now, not inside the first test.
  void getResponse(handlers, new Request('http://localhost/__warm-up'));
  return async function mockHandlers(ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown> {
    if (!paths.some((prefix) => ctx.path.startsWith(prefix))) return next();
    const headers = new Headers();
    for (const [name, value] of Object.entries(ctx.req.headers)) {
      for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
    }
    const hasBody = ctx.method !== 'GET' && ctx.method !== 'HEAD';
    const request = new Request(ctx.href, { method: ctx.method, headers, ...(hasBody ? { body: await bodyOf(ctx.req) } : {}) });
    const response = await getResponse(handlers, request);
    if (!response) return next();
    if (response.type === 'error') {
      // msw's HttpResponse.error(): the network drops, so the page's fetch rejects.
      ctx.req.socket.destroy();
      ctx.respond = false;
      return undefined;
    }
    ctx.status = response.status;
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie' && name !== 'content-length') ctx.set(name, value);
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) ctx.set('set-cookie', cookies);
    ctx.body = Buffer.from(await response.arrayBuffer());
    return undefined;
  };
}
