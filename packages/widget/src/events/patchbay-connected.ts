/** The flow finished: the tenant's install exists and works. */
export type PatchbayConnectedEvent = CustomEvent<{ installId: string; tenantId: string; integration: string }>;

declare global {
  interface GlobalEventHandlersEventMap {
    'patchbay-connected': PatchbayConnectedEvent;
  }
}
