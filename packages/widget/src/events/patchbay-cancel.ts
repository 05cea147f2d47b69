/** The user stopped the flow: closed the window, or declined at the provider. Not an error. */
export type PatchbayCancelEvent = CustomEvent<{ reason: 'popup_closed' | 'access_denied' }>;

declare global {
  interface GlobalEventHandlersEventMap {
    'patchbay-cancel': PatchbayCancelEvent;
  }
}
