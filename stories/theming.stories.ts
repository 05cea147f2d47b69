import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { css, html, unsafeCSS } from 'lit';
import { ref } from 'lit/directives/ref.js';
import '../packages/widget/src/components/connect-button/connect-button.js';
import '../packages/widget/src/components/connector-picker/connector-picker.js';
import type { ConnectButton } from '../packages/widget/src/components/connect-button/connect-button.component.js';
import { CATALOG, mockSessionToken } from './mock-server.js';

/**
 * Three very different looks from the same components, using only the public styling API: the
 * documented `--patchbay-*` custom properties and `::part()`. Nothing here reaches into the
 * shadow roots' internals.
 */
interface Theme {
  id: string;
  title: string;
  note: string;
  styles: ReturnType<typeof css>;
}

const themes: Theme[] = [
  {
    id: 'harbour',
    title: 'Harbour',
    note: 'A calm product palette: teal accent, pill buttons, soft surfaces.',
    styles: css`
      .theme-harbour {
        --patchbay-color-primary: #0f766e;
        --patchbay-color-on-primary: #ffffff;
        --patchbay-color-surface: #f0fdfa;
        --patchbay-color-text: #134e4a;
        --patchbay-color-text-muted: #3f6b67;
        --patchbay-color-border: #99f6e4;
        --patchbay-radius: 999px;
        --patchbay-connector-picker-radius: 16px;
        --patchbay-connector-picker-active-background: #ccfbf1;
        --patchbay-font-family: 'Inter', system-ui, sans-serif;
        background: #ffffff;
        color: #134e4a;
      }
      .theme-harbour connector-picker::part(popover) {
        box-shadow: 0 12px 32px rgb(15 118 110 / 0.18);
      }
    `,
  },
  {
    id: 'terminal',
    title: 'Terminal',
    note: 'Monospace, green on black, square corners, upper-case buttons through ::part(base) and ::part(trigger).',
    styles: css`
      .theme-terminal {
        --patchbay-color-primary: #22c55e;
        --patchbay-color-on-primary: #020617;
        --patchbay-color-surface: #020617;
        --patchbay-color-text: #bbf7d0;
        --patchbay-color-text-muted: #86efac;
        --patchbay-color-border: #166534;
        --patchbay-color-success: #4ade80;
        --patchbay-color-danger: #f87171;
        --patchbay-radius: 0;
        --patchbay-connector-picker-active-background: #14532d;
        --patchbay-font-family: ui-monospace, 'DejaVu Sans Mono', monospace;
        --patchbay-font-size: 0.9rem;
        --patchbay-focus-ring: 2px dashed #facc15;
        background: #020617;
        color: #bbf7d0;
        font-family: ui-monospace, 'DejaVu Sans Mono', monospace;
      }
      .theme-terminal connect-button::part(base),
      .theme-terminal connector-picker::part(trigger) {
        text-transform: uppercase;
        letter-spacing: 0.08em;
      }
      .theme-terminal connector-picker::part(icon) {
        border-radius: 0;
      }
    `,
  },
  {
    id: 'sunrise',
    title: 'Sunrise',
    note: 'A warm, playful brand: serif type, coral buttons with a hard shadow, large radius.',
    styles: css`
      .theme-sunrise {
        --patchbay-color-primary: #e11d48;
        --patchbay-color-on-primary: #fff7ed;
        --patchbay-color-surface: #fff7ed;
        --patchbay-color-text: #431407;
        --patchbay-color-text-muted: #7c2d12;
        --patchbay-color-border: #fdba74;
        --patchbay-radius: 14px;
        --patchbay-connect-button-padding: 0.8em 1.6em;
        --patchbay-connector-picker-active-background: #ffedd5;
        --patchbay-font-family: Georgia, 'DejaVu Serif', serif;
        --patchbay-font-size: 1.05rem;
        background: #fffbeb;
        color: #431407;
        font-family: Georgia, 'DejaVu Serif', serif;
      }
      .theme-sunrise connect-button::part(base),
      .theme-sunrise connector-picker::part(trigger) {
        box-shadow: 4px 4px 0 #431407;
        border: 2px solid #431407;
      }
      .theme-sunrise connector-picker::part(name) {
        font-style: italic;
      }
    `,
  },
];

const panelStyles = css`
  .theme-panel {
    box-sizing: border-box;
    padding: 20px 24px;
    border-radius: 12px;
    min-height: 660px;
    border: 1px solid rgb(0 0 0 / 0.08);
  }
  .theme-panel h2 {
    margin: 0 0 4px;
    font-size: 1.15rem;
  }
  .theme-panel p {
    margin: 0 0 16px;
    font-size: 0.85rem;
    opacity: 0.85;
  }
  .theme-panel .row {
    display: flex;
    flex-wrap: wrap;
    gap: 12px;
    align-items: flex-start;
    margin-bottom: 16px;
  }
  .theme-grid {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(380px, 1fr));
    gap: 16px;
  }
`;

/** Runs the button's flow against the mock server so the panel shows the Connected state too. */
const connectOnRender = ref((element) => {
  if (element) void (element as ConnectButton).updateComplete.then(() => (element as ConnectButton).start());
});

function panel(theme: Theme) {
  return html`
    <section class="theme-panel theme-${theme.id}" data-theme=${theme.id}>
      <h2>${theme.title}</h2>
      <p>${theme.note}</p>
      <div class="row">
        <connect-button integration="slack-alerts" session-token=${mockSessionToken()}></connect-button>
        <connect-button integration="slack-alerts" session-token=${mockSessionToken({ outcome: 'authorized', delayMs: 200 })} ${connectOnRender}></connect-button>
        <connect-button integration="slack-alerts" session-token=${mockSessionToken()} reauth></connect-button>
      </div>
      <connector-picker integration=${CATALOG.full} session-token=${mockSessionToken()} open></connector-picker>
    </section>
  `;
}

function stylesFor(selected: Theme[]) {
  return html`<style>
    ${unsafeCSS([panelStyles, ...selected.map((theme) => theme.styles)].map((sheet) => sheet.cssText).join('\n'))}
  </style>`;
}

const meta: Meta = {
  title: 'Theming',
  parameters: {
    layout: 'padded',
    docs: {
      description: {
        component:
          'Each panel sets `--patchbay-*` custom properties on a wrapper and styles a few `::part()`s: the same `<connect-button>` (idle, connected, needs re-auth) and an open `<connector-picker>`.',
      },
    },
  },
};
export default meta;

type Story = StoryObj;

function themeStory(theme: Theme): Story {
  return { name: theme.title, render: () => html`${stylesFor([theme])}${panel(theme)}` };
}

export const Harbour = themeStory(themes[0]!);
export const Terminal = themeStory(themes[1]!);
export const Sunrise = themeStory(themes[2]!);

/** All three next to each other. */
export const SideBySide: Story = {
  name: 'Side by side',
  render: () => html`${stylesFor(themes)}<div class="theme-grid">${themes.map(panel)}</div>`,
};
