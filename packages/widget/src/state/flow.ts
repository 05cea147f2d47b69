import { map, type MapStore } from 'nanostores';

export type FlowStatus = 'idle' | 'connecting' | 'connected' | 'needs-reauth' | 'cancelled' | 'error';
export type FlowStep = 'authorize' | 'configure' | 'commit' | 'install' | 'done';

/** Why a flow was cancelled: the person chose Cancel, the provider said no, or the session expired. */
export type CancelReason = 'user' | 'access_denied' | 'expired';

export interface FlowState {
  status: FlowStatus;
  step: FlowStep | null;
  installId: string | null;
  error: { code: string; message: string } | null;
  /**
   * While connecting: no sign-in window is known to be open (it looks closed, which a provider's
   * Cross-Origin-Opener-Policy also causes, or the page was reloaded). The element offers Reopen and Cancel.
   */
  windowLost?: boolean;
  /** Once cancelled: why. */
  cancelReason?: CancelReason | null;
}

export const initialFlowState: FlowState = { status: 'idle', step: null, installId: null, error: null };

/** One store per element instance: two buttons on a page never share a flow. */
export function createFlowStore(initial: Partial<FlowState> = {}): MapStore<FlowState> {
  return map<FlowState>({ ...initialFlowState, ...initial });
}
