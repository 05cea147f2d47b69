import { css } from 'lit';

/** The look of the flow's Reopen and Cancel choices (flow-choices.ts); in the element's styles from the start. */
export const flowChoicesStyles = css`
  [part~='choices'] {
    display: inline-flex;
    flex-wrap: wrap;
    gap: 0.5em;
  }

  [part~='reopen'],
  [part~='cancel'] {
    padding: 0.35em 0.8em;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: transparent;
    color: var(--_text);
    font: inherit;
    font-size: 0.85em;
    cursor: pointer;
  }

  [part~='reopen'] {
    border-color: var(--_accent);
    color: var(--_accent);
  }

  [part~='reopen']:focus-visible,
  [part~='cancel']:focus-visible {
    outline: var(--_focus-ring);
    outline-offset: 2px;
  }
`;
