import { map, type MapStore } from 'nanostores';

export type FlowStatus = 'idle' | 'connecting' | 'connected' | 'needs-reauth' | 'cancelled' | 'error';
export type FlowStep = 'authorize' | 'configure' | 'commit' | 'install' | 'done';

export interface FlowState {
  status: FlowStatus;
  step: FlowStep | null;
  installId: string | null;
  error: { code: string; message: string } | null;
}

export const initialFlowState: FlowState = { status: 'idle', step: null, installId: null, error: null };

/** One store per element instance: two buttons on a page never share a flow. */
export function createFlowStore(initial: Partial<FlowState> = {}): MapStore<FlowState> {
  return map<FlowState>({ ...initialFlowState, ...initial });
}
