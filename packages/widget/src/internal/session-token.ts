/** A session token looks like `ses_<22 base62>_secret_<22 base62>`; its session id is the first part. */
const TOKEN = /^(ses_[0-9A-Za-z]{22})_secret_[0-9A-Za-z]{22,}$/;

export function sessionIdOf(token: string | null | undefined): string | null {
  if (!token) return null;
  return TOKEN.exec(token.trim())?.[1] ?? null;
}
