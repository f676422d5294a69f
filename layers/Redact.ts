/**
 * Secrets out of what pandaflow prints: URLs with their passwords and credential-like
 * query values replaced by `***`. One rule for every adapter (settings, the mode line,
 * the API source's errors and logs).
 *
 * @since 0.2.0
 */

const secretParam = /pass|pwd|secret|token|key|credential|auth|sig/i

/** Options of `url`. */
export interface UrlOptions {
  /**
   * A user name without a password is a secret too (an HTTP API token given as
   * `https://token@host/`); a database URL's user name is not.
   */
  readonly userIsSecret?: boolean | undefined
}

/**
 * `url` fit to print: its userinfo password (and, with `userIsSecret`, a lone user name)
 * and the values of secret-like query parameters (`password`, `sslpassword`, `api_key`,
 * `token`, …) become `***`; a URL with nothing secret is returned byte for byte. A string
 * that is not a URL is not shown at all: it may hold a password anywhere.
 */
export const url = (text: string, options: UrlOptions = {}): string => {
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    return "<not a URL: not shown>"
  }
  // An '@' after the authority means a password with a '/', '?' or '#' cut it short: any part may be secret.
  if (/@|%40/.test(parsed.pathname + parsed.hash)) return "<URL not shown: it may hold a password>"
  let changed = false
  if (parsed.password !== "") {
    parsed.password = "***"
    changed = true
  } else if (options.userIsSecret === true && parsed.username !== "") {
    parsed.username = "***"
    changed = true
  }
  for (const name of [...new Set(parsed.searchParams.keys())]) {
    if (secretParam.test(name)) {
      parsed.searchParams.set(name, "***")
      changed = true
    }
  }
  // URLSearchParams may encode `*`; keep the marker readable.
  return changed ? parsed.toString().replace(/%2A%2A%2A/g, "***") : text
}
