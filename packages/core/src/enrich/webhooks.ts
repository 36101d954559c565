import type {
  EnrichMatched,
  EnrichmentProviderV1,
  EnrichNotFound,
} from '../contracts/enrichment-provider.js';
import { WebhookVerificationError } from '../contracts/errors.js';
import type { InboundWebhookRequest, WebhookResponse } from '../contracts/webhook.js';
import { assertWebhookBodySize, DEFAULT_WEBHOOK_MAX_BODY_BYTES } from '../webhooks/raw-body.js';
import { toLeadpipeError } from './failure.js';
import { validateEnrichResult } from './validate-result.js';

/**
 * Take an inbound webhook for `providerId`: let the provider verify and read
 * it, hand each final answer it carries to `deliver`, and say what to reply.
 * 404 when the provider takes no webhooks (or is unknown), 413 when the body
 * is larger than `maxBodyBytes` (refused before the provider sees it), 401
 * when verification fails, 400 when the provider cannot read it, else 200
 * with the number of answers received. Answers that fail validation, or are
 * still `pending`, are not delivered.
 */
export async function handleProviderWebhook(
  provider: EnrichmentProviderV1 | undefined,
  providerId: string,
  request: InboundWebhookRequest,
  deliver: (correlationId: string, result: EnrichMatched | EnrichNotFound) => void,
  maxBodyBytes: number = DEFAULT_WEBHOOK_MAX_BODY_BYTES,
): Promise<WebhookResponse> {
  if (!provider?.doHandleWebhook) {
    return {
      status: 404,
      body: JSON.stringify({ error: `no webhook handler for provider "${providerId}"` }),
    };
  }
  try {
    assertWebhookBodySize(request.rawBody, maxBodyBytes, providerId);
  } catch (error) {
    const code = WebhookVerificationError.isInstance(error) ? error.code : 'payload_invalid';
    return { status: code === 'payload_too_large' ? 413 : 400, body: JSON.stringify({ error: code }) };
  }
  let resolutions: Awaited<ReturnType<NonNullable<EnrichmentProviderV1['doHandleWebhook']>>>;
  try {
    resolutions = await provider.doHandleWebhook(request);
  } catch (error) {
    if (WebhookVerificationError.isInstance(error)) {
      const status = error.code === 'payload_too_large' ? 413 : 401;
      return { status, body: JSON.stringify({ error: error.code }) };
    }
    const failure = toLeadpipeError(error, providerId);
    return { status: 400, body: JSON.stringify({ error: failure.code }) };
  }
  for (const resolution of resolutions) {
    let validated: ReturnType<typeof validateEnrichResult>;
    try {
      validated = validateEnrichResult(providerId, resolution.result);
    } catch {
      continue;
    }
    if (validated.result.status === 'pending') continue;
    deliver(resolution.correlationId, validated.result);
  }
  return { status: 200, body: JSON.stringify({ received: resolutions.length }) };
}
