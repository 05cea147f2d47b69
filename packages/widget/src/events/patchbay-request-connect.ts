/**
 * Cancelable: the user chose a connector in `<connector-picker>`. `choice` says what will happen
 * (`connect`, `add-connection`, `reconnect` with the `connectionId` it re-authorizes), and `method`
 * the auth method the user picked when the connector offers several. Call
 * `preventDefault()` to run something else instead, such as your own upgrade prompt.
 */
export type PatchbayRequestConnectEvent = CustomEvent<{
  connector: string;
  choice: 'connect' | 'add-connection' | 'reconnect';
  connectionId: string | null;
  method?: string;
}>;

declare global {
  interface GlobalEventHandlersEventMap {
    'patchbay-request-connect': PatchbayRequestConnectEvent;
  }
}
