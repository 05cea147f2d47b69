/**
 * Walks the demo provider's sign-in and consent pages over plain HTTP (with a cookie jar),
 * the way a browser would, and returns the final redirect to Patchbay's callback. Used by server
 * tests; the end-to-end tests do the same in Chromium.
 */
export interface LoginResult {
  /** The provider's redirect to `/oauth/callback?...` (not yet followed). */
  callbackUrl: string;
}

class CookieJar {
  readonly #cookies = new Map<string, string>();
  store(response: Response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const [name, ...value] = pair!.split('=');
      this.#cookies.set(name!.trim(), value.join('='));
    }
  }
  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

async function step(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jar.header() } });
  jar.store(response);
  return response;
}

function formAction(page: string, base: string): string {
  const match = /<form[^>]*action="([^"]+)"/.exec(page);
  if (!match) throw new Error(`no form on provider page: ${page.slice(0, 200)}`);
  return new URL(match[1]!.replace(/&amp;/g, '&'), base).toString();
}

/**
 * Follows redirects from `authorizeUrl` until the provider sends the browser back to `callbackPrefix`.
 * `decision: 'deny'` uses the provider's Cancel (abort), which ends in `error=access_denied`.
 */
export async function loginAtProvider(
  authorizeUrl: string,
  callbackPrefix: string,
  options: { user?: string; decision?: 'allow' | 'deny' } = {},
): Promise<LoginResult> {
  const jar = new CookieJar();
  let url = authorizeUrl;
  for (let hops = 0; hops < 20; hops++) {
    if (url.startsWith(callbackPrefix)) return { callbackUrl: url };
    const response = await step(jar, url);
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location')!, url).toString();
      continue;
    }
    const page = await response.text();
    if (response.status !== 200) throw new Error(`provider answered ${response.status}: ${page.slice(0, 200)}`);
    if (options.decision === 'deny') {
      url = `${url.replace(/\/$/, '')}/abort`;
      continue;
    }
    const action = formAction(page, url);
    const isLogin = page.includes('name="login"');
    const body = isLogin ? new URLSearchParams({ prompt: 'login', login: options.user ?? 'ada', password: 'any' }) : new URLSearchParams({ prompt: 'consent' });
    const submitted = await step(jar, action, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    if (submitted.status < 300 || submitted.status >= 400) throw new Error(`provider form answered ${submitted.status}`);
    url = new URL(submitted.headers.get('location')!, action).toString();
  }
  throw new Error('too many redirects at the provider');
}
