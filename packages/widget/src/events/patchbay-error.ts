/** The flow failed; `code` is the server's error code (or `network_error`, `popup_blocked`, …). */
export type PatchbayErrorEvent = CustomEvent<{ code: string; message: string }>;

declare global {
  interface GlobalEventHandlersEventMap {
    'patchbay-error': PatchbayErrorEvent;
  }
}
