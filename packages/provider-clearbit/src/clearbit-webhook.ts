import {
  assertHmacSignature,
  computeHmac,
  type EnrichMatched,
  type EnrichNotFound,
  getHeader,
  type InboundWebhookRequest,
  rawBodyToBuffer,
  type WebhookResolution,
  WebhookVerificationError,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import {
  clearbitCombinedSchema,
  clearbitCompanySchema,
  clearbitPersonSchema,
  type MappedRecord,
  mapCombined,
  mapCompanyRecord,
} from './clearbit-mapping.js';

/** The header Clearbit signs webhooks in. */
const CLEARBIT_SIGNATURE_HEADER = 'X-Request-Signature';

/** The secret Clearbit signs webhooks with: the API key without its `sk_` / `pk_` prefix. */
function clearbitSigningSecret(apiKey: string): string {
  return apiKey.replace(/^(sk|pk)_/, '');
}

/**
 * The `X-Request-Signature` value Clearbit sends for `rawBody`: `sha1=` and
 * the hex HMAC-SHA1 of the raw body, keyed with the API key minus its
 * `sk_` / `pk_` prefix. For tests and for hosts that relay webhooks.
 */
export function computeClearbitSignature(apiKey: string, rawBody: string | Uint8Array): string {
  return `sha1=${computeHmac({ algorithm: 'sha1', secret: clearbitSigningSecret(apiKey), payload: rawBody, encoding: 'hex' })}`;
}

/**
 * Verify a Clearbit webhook's `X-Request-Signature` over the raw body, in
 * constant time.
 *
 * @throws WebhookVerificationError `signature_missing` when unsigned,
 * `signature_invalid` when tampered with or signed with another key,
 * `payload_invalid` when the body is not raw text or bytes.
 */
export function verifyClearbitWebhook(
  request: InboundWebhookRequest,
  apiKey: string,
  providerId: string,
): void {
  const payload = rawBodyToBuffer(request.rawBody, providerId);
  assertHmacSignature({
    algorithm: 'sha1',
    encoding: 'hex',
    secret: clearbitSigningSecret(apiKey),
    payload,
    signature: getHeader(request.headers, CLEARBIT_SIGNATURE_HEADER),
    prefix: 'sha1=',
    providerId,
    signatureName: CLEARBIT_SIGNATURE_HEADER,
  });
}

const envelopeSchema = z.object({
  id: z.string().nullish(),
  type: z.string().nullish(),
  body: z.unknown().optional(),
  status: z.number().int(),
});

function invalidPayload(providerId: string, reason: string): WebhookVerificationError {
  return new WebhookVerificationError('payload_invalid', { message: `body: ${reason}`, providerId });
}

function mapBody(type: string | null | undefined, body: unknown): MappedRecord | undefined | 'unreadable' {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'unreadable';
  const isCombined = 'person' in body || 'company' in body;
  if (isCombined) {
    const parsed = clearbitCombinedSchema.safeParse(body);
    return parsed.success ? mapCombined(parsed.data) : 'unreadable';
  }
  if (type === 'company') {
    const parsed = clearbitCompanySchema.safeParse(body);
    return parsed.success ? mapCompanyRecord(parsed.data) : 'unreadable';
  }
  const parsed = clearbitPersonSchema.safeParse(body);
  return parsed.success ? mapCombined({ person: parsed.data, company: null }) : 'unreadable';
}

/**
 * Parse a verified Clearbit webhook (`{id, type, body, status}`) into the
 * resolution of the pending lookup whose `webhook_id` it echoes. Credits are
 * 0: the lookup was billed when it was queued. Payloads without an `id`
 * (an account-wide webhook) and statuses other than 200 and 404 resolve
 * nothing, so the pending lookup times out instead of caching a wrong miss.
 *
 * @throws WebhookVerificationError `payload_invalid` when the body is not
 * a Clearbit webhook envelope.
 */
export function parseClearbitWebhook(rawBody: string, providerId: string): WebhookResolution[] {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw invalidPayload(providerId, 'is not valid JSON');
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) {
    const issue = envelope.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.join('.');
    throw invalidPayload(
      providerId,
      `is not a Clearbit webhook envelope (${path}: ${issue?.message ?? 'invalid'})`,
    );
  }
  const { id, type, body, status } = envelope.data;
  if (!id) return [];
  let result: EnrichMatched | EnrichNotFound;
  if (status === 404) {
    result = { status: 'not_found', credits: 0, raw: json };
  } else if (status === 200) {
    const mapped = mapBody(type, body);
    if (mapped === 'unreadable')
      throw invalidPayload(providerId, `body of a ${status} webhook is not a Clearbit record`);
    result =
      mapped === undefined
        ? { status: 'not_found', credits: 0, raw: json }
        : {
            status: 'matched',
            fields: mapped.fields,
            confidence: mapped.confidence,
            fieldConfidence: mapped.fieldConfidence,
            credits: 0,
            raw: json,
          };
  } else {
    return [];
  }
  return [{ correlationId: id, result }];
}
