import type { ApiClient } from './api-client.js';

/**
 * How a flow opens its sign-in: a popup, or a full-page redirect when the popup is blocked. Apart
 * from the flow's code so an element can open the window inside the click (popup blockers allow it
 * only there) before that code has loaded (see deferred-flow.ts). Overridable so tests can observe it.
 */
export class FlowWindow {
  /** Opens the window. Must stay synchronous. */
  openWindow(url: string, name: string): Window | null {
    const width = 520;
    const height = 720;
    const left = Math.max(0, window.screenX + (window.outerWidth - width) / 2);
    const top = Math.max(0, window.screenY + (window.outerHeight - height) / 2);
    return window.open(url, name, `popup,width=${width},height=${height},left=${left},top=${top}`);
  }

  /** Full-page navigation for page mode. */
  navigate(url: string): void {
    window.location.assign(url);
  }

  /** Opens the session's sign-in window; when it is blocked, navigates to it in page mode and answers null. */
  open(api: ApiClient, sessionId: string, params: Record<string, string>): Window | null {
    const popup = this.openWindow(api.startUrl(sessionId, 'popup', window.location.origin, params), `patchbay-${sessionId}`);
    if (!popup) this.navigate(api.startUrl(sessionId, 'page', window.location.origin, params));
    return popup;
  }
}
