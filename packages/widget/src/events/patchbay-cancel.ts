import type { CancelReason } from '../state/flow.js';

/**
 * The flow was really cancelled, as the server records it: the person chose Cancel (`user`), the
 * provider answered access_denied (`access_denied`), or the session expired (`expired`). A window
 * that looks closed is never a cancel by itself. Not an error; fired once per flow.
 */
export type PatchbayCancelEvent = CustomEvent<{ reason: CancelReason }>;

declare global {
  interface GlobalEventHandlersEventMap {
    'patchbay-cancel': PatchbayCancelEvent;
  }
}
