import type { LocaleController } from './locale-controller.js';
import '../events/patchbay-error.js';
import type { PatchbayElement } from './patchbay-element.js';

/**
 * What an element that runs Patchbay's flow has: the session it works for and its texts.
 * `<connect-button>` and `<connector-picker>` are both one; their controllers read it from here.
 */
export interface ConnectHost extends PatchbayElement {
  readonly i18n: LocaleController;
  integration: string;
  sessionToken: string;
  server: string;
}

/** The session an element works for; the server defaults to the page's own origin. */
export function sessionOf(host: ConnectHost): { server: string; integration: string; token: string } {
  return { server: host.server || window.location.origin, integration: host.integration, token: host.sessionToken };
}

/** Per element: the last failure reported while loading, by whom, for which token. */
const loadReports = new WeakMap<ConnectHost, { key: string; from: 'tenant' | 'resume' }>();

/**
 * Reports (`patchbay-error`) a failure met while loading. On load the tenant's state and the flow's
 * resume both read the element's session, so both meet an expired or malformed one: the first of
 * the two reports it and the other stays quiet, so the page hears of it once. A later failure from
 * the same reader (a retry) is reported again.
 */
export function reportLoadError(host: ConnectHost, error: { code: string; message: string }, from: 'tenant' | 'resume'): void {
  const key = `${host.sessionToken}\n${error.code}`;
  const earlier = loadReports.get(host);
  if (earlier && earlier.key === key && earlier.from !== from) {
    loadReports.delete(host);
    return;
  }
  loadReports.set(host, { key, from });
  host.emit('patchbay-error', error);
}
