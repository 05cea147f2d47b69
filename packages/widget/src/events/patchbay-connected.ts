/** The flow finished: the tenant's install exists and works (`connector` when a picker chose one). */
export type PatchbayConnectedEvent = CustomEvent<{ installId: string; tenantId: string; integration: string; connector?: string }>;

declare global {
  interface GlobalEventHandlersEventMap {
    'patchbay-connected': PatchbayConnectedEvent;
  }
}
