/**
 * Secret redaction. Adapters register every credential they load; every
 * `LeadpipeError`, log line and event payload is scrubbed of registered
 * secrets and of well-known credential shapes before it is stored.
 */

const registered = new Set<string>();
const MIN_SECRET_LENGTH = 6;

/** The text that replaces a secret. */
export const REDACTED = '[REDACTED]';

/**
 * Register a secret (API key, token, webhook secret) so it is scrubbed from
 * errors, logs and events. Values shorter than 6 characters are ignored:
 * redacting them would mangle ordinary text.
 */
export function registerSecret(secret: string | undefined | null): void {
  if (typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH) registered.add(secret);
}

const PATTERNS: readonly RegExp[] = [
  // Authorization: Bearer xyz / Basic xyz
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi,
  // api_key=..., access_token=..., client_secret=..., refresh_token=..., password=...
  /\b(api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|client[_-]?secret|password|token|secret|hapikey)=([^&\s"']+)/gi,
  // "x-api-key": "..." or "apiKey": "..." in JSON-ish text
  /("(?:x-api-key|api[_-]?key|apikey|authorization|access_token|refresh_token|client_secret|password|token|secret)"\s*:\s*")([^"]+)(")/gi,
];

/** Scrub registered secrets and credential-shaped substrings from a string. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  out = out.replace(PATTERNS[0]!, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  out = out.replace(PATTERNS[1]!, (_m, name: string) => `${name}=${REDACTED}`);
  out = out.replace(
    PATTERNS[2]!,
    (_m, head: string, _v: string, tail: string) => `${head}${REDACTED}${tail}`,
  );
  return out;
}

const SENSITIVE_KEY =
  /^(authorization|x-api-key|api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|client[_-]?secret|password|secret|token|cookie|set-cookie)$/i;

/**
 * Deep-copy a JSON-like value with sensitive keys replaced and every string
 * scrubbed by {@link redactSecrets}. Used on event payloads and error data.
 */
export function redactValue<T>(value: T, depth = 0): T {
  if (depth > 8) return value;
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = SENSITIVE_KEY.test(key) ? REDACTED : redactValue(item, depth + 1);
    }
    return out as T;
  }
  return value;
}
