import { css } from 'lit';
import { flowChoicesStyles } from '../../internal/flow-choices.styles.js';
import { themeStyles } from '../../internal/theme.styles.js';

export default [
  themeStyles,
  flowChoicesStyles,
  css`
    :host {
      --_button-color: var(--patchbay-connect-button-color, var(--_accent));
      --_button-text: var(--patchbay-connect-button-text-color, var(--_on-accent));
      --_button-radius: var(--patchbay-connect-button-radius, var(--_radius));
      --_button-padding: var(--patchbay-connect-button-padding, 0.6em 1.2em);
      display: inline-flex;
      flex-direction: column;
      align-items: flex-start;
      gap: 0.35em;
    }

    :host([data-status='connected']) [part~='base'] {
      background: transparent;
      border-color: var(--_success);
      color: var(--_success);
      cursor: default;
    }

    :host([data-status='needs-reauth']) [part~='base'],
    :host([data-status='expiring']) [part~='base'],
    :host([data-status='error']) [part~='base'] {
      background: transparent;
      border-color: var(--_danger);
      color: var(--_danger);
    }

    /* A long account label ("Connected as …") stays on one line on a phone: ellipsis, not a tall button. */
    [part~='base'] {
      max-width: 100%;
    }

    [part~='label'] {
      min-width: 0;
      overflow: hidden;
      text-overflow: ellipsis;
      white-space: nowrap;
    }

    [part~='check'] {
      flex: none;
      width: 1em;
      height: 1em;
    }

    [part~='status'] {
      min-height: 1.2em;
      color: var(--_muted);
      font-size: 0.85em;
    }

    :host([data-status='error']) [part~='status'] {
      color: var(--_danger);
    }
  `,
];
