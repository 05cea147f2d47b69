import { setCustomElementsManifest } from '@storybook/web-components-vite';
import type { Preview } from '@storybook/web-components-vite';
import { withActions } from 'storybook/actions/decorator';
import customElements from '../packages/widget/custom-elements.json';
import { installMockServer } from '../stories/mock-server.js';

// Argument tables (attributes, properties, events, slots, parts, custom properties) come from the
// generated manifest, so they say what the components' JSDoc headers say.
setCustomElementsManifest(customElements);

const preview: Preview = {
  // Every story talks to the shared mock handlers (msw's worker), never a real server: started before the first story renders.
  loaders: [async () => ({ mockServer: await installMockServer() })],
  decorators: [withActions],
  parameters: {
    // The widget's events show in the Actions panel as the host page would receive them.
    actions: { handles: ['patchbay-connected', 'patchbay-cancel', 'patchbay-error', 'patchbay-step', 'patchbay-request-connect', 'patchbay-onboarding-step'] },
    controls: { expanded: true },
  },
  tags: ['autodocs'],
};

export default preview;
