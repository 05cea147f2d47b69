/** The tenant disconnected one of its connections: the server revoked it and wiped its credentials. */
export type PatchbayDisconnectedEvent = CustomEvent<{ connectionId: string; connector: string; integration: string }>;

declare global {
  interface GlobalEventHandlersEventMap {
    'patchbay-disconnected': PatchbayDisconnectedEvent;
  }
}
