import { css } from 'lit';

/** The tenant's connections list (see connections-manager.ts), shared by the button and the picker. */
export const connectionsStyles = css`
  [part~='connections'] {
    display: flex;
    flex-direction: column;
    gap: 0.4em;
    margin: 0.25em 0 0;
    padding: 0;
    list-style: none;
    font-size: 0.9em;
  }

  [part~='connection'] {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    gap: 0.25em 0.6em;
    padding: 0.45em 0.6em;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
  }

  [part~='connection-name'] {
    font-weight: 600;
  }

  [part~='connection-state'] {
    color: var(--_success);
    font-size: 0.85em;
    font-weight: 600;
  }

  [part~='connection-state'][data-state='expiring'],
  [part~='connection-state'][data-state='needs_reauth'],
  .connection-error {
    color: var(--_danger);
  }

  [part~='connection-date'],
  .confirm-text {
    flex-basis: 100%;
    color: var(--_muted);
    font-size: 0.85em;
  }

  .confirm-text {
    color: inherit;
  }

  .connection-actions,
  [part~='confirm'] {
    display: flex;
    flex-wrap: wrap;
    gap: 0.4em;
    align-items: center;
  }

  [part~='confirm'] {
    flex-basis: 100%;
  }

  [part~='reconnect'],
  [part~='disconnect'],
  [part~='confirm-disconnect'],
  [part~='confirm-cancel'] {
    padding: 0.3em 0.8em;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: transparent;
    color: inherit;
    font: inherit;
    cursor: pointer;
  }

  [part~='confirm-disconnect'] {
    border-color: var(--_danger);
    color: var(--_danger);
  }

  [part~='reconnect']:focus-visible,
  [part~='disconnect']:focus-visible,
  [part~='confirm-disconnect']:focus-visible,
  [part~='confirm-cancel']:focus-visible {
    outline: var(--_focus-ring);
    outline-offset: 2px;
  }

  [aria-disabled='true'] {
    cursor: not-allowed;
    opacity: 0.6;
  }
`;
