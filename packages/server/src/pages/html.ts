import type { Response } from 'express';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** Tagged template that escapes every interpolation unless it is already `SafeHtml`. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, index) => {
    const rendered = Array.isArray(value)
      ? value.map((item) => (item instanceof SafeHtml ? item.value : escapeHtml(String(item)))).join('')
      : value instanceof SafeHtml
        ? value.value
        : escapeHtml(String(value ?? ''));
    out += rendered + strings[index + 1]!;
  });
  return new SafeHtml(out);
}

/** Strict CSP for every page we serve: no inline script or style, no eval, no framing. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function sendPage(res: Response, status: number, page: { title: string; body: SafeHtml; scripts?: string[]; head?: SafeHtml; csp?: string }): void {
  const scripts = (page.scripts ?? []).map((src) => html`<script type="module" src="${src}"></script>`);
  res
    .status(status)
    .set({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': page.csp ?? PAGE_CSP,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    })
    .send(
      html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title>
<link rel="stylesheet" href="/static/flow.css">
${page.head ?? ''}
${scripts}
</head>
<body>
${page.body}
</body>
</html>`.value,
    );
}
