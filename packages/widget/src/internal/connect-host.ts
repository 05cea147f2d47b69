import type { LocaleController } from './locale-controller.js';
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
