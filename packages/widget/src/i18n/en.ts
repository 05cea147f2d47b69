/** English, the reference table: every other language must have exactly these keys. */
export const en = {
  'connect.label': 'Connect',
  'connect.connecting': 'Connecting…',
  'connect.connected': 'Connected',
  'connect.reconnect': 'Reconnect',
  'connect.retry': 'Try again',
  'connect.status.idle': 'Not connected.',
  'connect.status.connecting': 'Waiting for you to sign in in the new window…',
  'connect.status.connected': 'Connected.',
  'connect.status.needsReauth': 'The connection needs you to sign in again.',
  'connect.status.cancelled': 'Cancelled. Nothing was connected.',
  'connect.status.error': 'Something went wrong: {message}',
  'connect.status.redirecting': 'Opening the sign-in page…',
  'error.invalidToken': 'This button has no valid session. Reload the page.',
  'error.timeout': 'The connection took too long to finish. Try again.',
  'error.network': 'The Patchbay server could not be reached.',
} as const;

export type TranslationKey = keyof typeof en;
export type Translation = Record<TranslationKey, string>;
