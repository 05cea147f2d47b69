/**
 * The English texts of `<connect-button>` and its flow: the part of the English table (en.ts) every
 * page needs, so the script tag's core carries only these; the other elements bring the rest.
 */
export const enConnect = {
  'connect.label': 'Connect',
  'connect.connecting': 'Connecting…',
  'connect.connected': 'Connected',
  'connect.reconnect': 'Reconnect',
  'connect.retry': 'Try again',
  'connect.status.connecting': 'Waiting for you to sign in in the new window…',
  'connect.status.connected': 'Connected.',
  'connect.status.needsReauth': 'The connection needs you to sign in again.',
  'connect.status.cancelled': 'Cancelled. Nothing was connected.',
  'connect.status.windowLost': 'Still waiting for the sign-in to finish. If you closed its window, reopen it or cancel.',
  'connect.status.expired': 'The sign-in took too long and expired. Nothing was connected.',
  'connect.status.error': 'Something went wrong: {message}',
  'connect.connectedAs': 'Connected as {label}',
  'connect.status.expiring': 'The connection expires soon ({date}). Reconnect to keep it working.',
  'picker.status.sessionUsed': 'This session is used up. Ask for a new one to connect another app.',
  'error.invalidToken': 'This button has no valid session. Reload the page.',
  'error.timeout': 'The connection took too long to finish. Try again.',
  'error.network': 'The Patchbay server could not be reached.',
  'flow.choices': 'Sign-in window',
  'flow.reopen': 'Reopen sign-in window',
  'flow.cancel': 'Cancel',
  'error.sessionExpired': 'This session has expired. Reload the page to start again.',
} as const;
