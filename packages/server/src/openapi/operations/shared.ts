/** Refusals several tables share. */

/** A call that goes to a third-party API with a tenant's credentials (callUpstream, the credential broker). */
export const UPSTREAM_ERRORS = {
  400: ['path_not_allowed'],
  409: ['connection_revoked', 'connection_needs_reauth', 'method_not_supported', 'connector_missing'],
  502: ['upstream_unreachable', 'refresh_failed', 'provider_error', 'provider_unreachable'],
  503: ['refresh_busy'],
  504: ['upstream_timeout'],
} as const;
