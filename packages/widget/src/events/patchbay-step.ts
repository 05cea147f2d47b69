import type { FlowStep } from '../state/flow.js';

/** The flow moved to a new step (for analytics or a host's own progress display). */
export type PatchbayStepEvent = CustomEvent<{ step: FlowStep }>;

declare global {
  interface GlobalEventHandlersEventMap {
    'patchbay-step': PatchbayStepEvent;
  }
}
