import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html, nothing } from 'lit';
import '../packages/widget/src/components/connector-picker/connector-picker.js';
import { CATALOG, mockSessionToken } from './mock-server.js';

interface Args {
  integration: string;
  'session-token': string;
  open: boolean;
  placement: 'bottom-start' | 'bottom-end' | 'top-start' | 'top-end';
  locale: string;
  theme: 'auto' | 'light' | 'dark';
}

const meta: Meta<Args> = {
  title: 'Components/connector-picker',
  component: 'connector-picker',
  args: {
    integration: CATALOG.full,
    'session-token': mockSessionToken({ outcome: 'authorized' }),
    open: false,
    placement: 'bottom-start',
    locale: '',
    theme: 'auto',
  },
  argTypes: {
    integration: {
      description:
        'The integration id. In these stories it also steers the mock catalog: `methods` (connectors with several auth methods), `empty`, `broken`, `loading`, or any other name for the full one.',
      control: 'select',
      options: [CATALOG.full, CATALOG.methods, CATALOG.empty, CATALOG.broken, CATALOG.loading],
    },
    placement: { control: 'select', options: ['bottom-start', 'bottom-end', 'top-start', 'top-end'] },
    theme: { control: 'inline-radio', options: ['auto', 'light', 'dark'] },
    locale: { control: 'select', options: ['', 'en', 'de', 'fr', 'es', 'ja'] },
  },
  // Room below the trigger, so the open popover is inside the story's frame.
  decorators: [(story) => html`<div style="min-height: 520px">${story()}</div>`],
  render: (args) => html`<connector-picker
    integration=${args.integration}
    session-token=${args['session-token']}
    ?open=${args.open}
    placement=${args.placement}
    locale=${args.locale || nothing}
    theme=${args.theme}
  ></connector-picker>`,
  parameters: {
    docs: {
      description: {
        component:
          'Backed by the in-browser mock server (stories/mock-server.ts): the catalog comes from pretend session endpoints, and choosing an app runs the flow with a pretend popup that signs in after a moment.',
      },
    },
  },
};
export default meta;

type Story = StoryObj<Args>;

/** Closed: the trigger only. Open it with the mouse or with the keyboard (Enter, or arrow down). */
export const Closed: Story = {};

/**
 * The full catalog in the open popover, with the four per-connector states: Connect (Slack),
 * + Add connection next to Connected (GitHub), and Reconnect next to Needs re-auth (Salesforce).
 */
export const FullCatalog: Story = { name: 'Full catalog (open popover)', args: { open: true } };

/**
 * The tenant's connections under the trigger (GitHub's Work account, Salesforce needing re-auth),
 * with Reconnect and Disconnect; Disconnect asks first, inline.
 */
export const ManageConnections: Story = { name: 'Manage connections' };

/**
 * A connector with several auth methods: choosing Zendesk asks how to connect it, the default
 * (API key) first and marked Recommended; each method starts the flow with `?method=`. Arrow keys
 * move between the methods, Escape or Back returns to the list.
 */
export const ChooseMethod: Story = {
  name: 'Choosing an auth method',
  args: { open: true, integration: CATALOG.methods },
  play: async ({ canvasElement }) => {
    const picker = canvasElement.querySelector('connector-picker')!;
    await picker.updateComplete;
    await (picker as unknown as { catalog: { taskComplete: Promise<unknown> } }).catalog.taskComplete;
    await picker.updateComplete;
    picker.shadowRoot!.querySelector<HTMLElement>('[part~="option"][data-slug="zendesk"]')?.click();
  },
};

/** On load, from the server: the tenant's Demo Cloud connection expires soon, so choosing it reconnects it. */
export const Expiring: Story = {
  name: 'On load: expiring soon',
  args: { open: true, integration: 'crm-sync', 'session-token': mockSessionToken({ tenant: 'expiring' }) },
};

/** The session token has expired: the popover says so (and `patchbay-error` session_expired fired). */
export const SessionExpired: Story = {
  name: 'On load: session expired',
  args: { open: true, integration: 'crm-sync', 'session-token': mockSessionToken({ tenant: 'expired' }) },
};

/** The catalog is still on its way. */
export const Loading: Story = { args: { open: true, integration: CATALOG.loading } };

/** The session allows no connector. */
export const Empty: Story = { args: { open: true, integration: CATALOG.empty } };

/** The catalog could not be loaded: the message says why, and Retry asks again. */
export const LoadError: Story = { name: 'Error', args: { open: true, integration: CATALOG.broken } };

/** Opening upwards, for a trigger near the bottom of the page. */
export const OpensUpwards: Story = {
  name: 'Opens upwards',
  args: { open: true, placement: 'top-start' },
  decorators: [(story) => html`<div style="padding-top: 440px">${story()}</div>`],
};

/** Right to left (`dir="rtl"`): the layout mirrors. */
export const RightToLeft: Story = {
  name: 'Right to left',
  args: { open: true },
  decorators: [(story) => html`<div dir="rtl">${story()}</div>`],
};
