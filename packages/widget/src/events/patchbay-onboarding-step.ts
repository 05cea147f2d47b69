/** `<partner-onboarding>` moved to a step: welcome, details, keys, events or done. */
export type PatchbayOnboardingStepEvent = CustomEvent<{ step: 'welcome' | 'details' | 'keys' | 'events' | 'done' }>;

declare global {
  interface GlobalEventHandlersEventMap {
    'patchbay-onboarding-step': PatchbayOnboardingStepEvent;
  }
}
