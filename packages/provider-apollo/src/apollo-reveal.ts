import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  assertWebhookBodySize,
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  type EnrichRequest,
  type EnrichResult,
  type HttpClient,
  type InboundWebhookRequest,
  type LeadField,
  type LeadFieldPatch,
  rawBodyToString,
  registerSecret,
  type WebhookResolution,
  WebhookVerificationError,
} from '@leadpipe/core/adapter-kit';
import { APOLLO_MATCH_CONFIDENCE, emailConfidence, pickPhone } from './apollo-mapping.js';
import {
  type ApolloWebhookBody,
  apolloWebhookSchema,
  parseApolloJson,
  webhookResultPendingSchema,
} from './apollo-schemas.js';

/** Polling of `GET /webhook_result/{request_id}`, the fallback when a reveal webhook does not arrive. */
export interface ApolloPollSettings {
  /**
   * Hands a polled result to the host's webhook route, exactly as if Apollo
   * had posted it; wire it to the engine:
   * `deliver: (request) => engine.handleWebhook('apollo', request)`.
   */
  readonly deliver: (request: InboundWebhookRequest) => unknown;
  /** Wait before the first poll, in ms. Default 180 000 (Apollo says reveals take several minutes). */
  readonly afterMs?: number;
  /** Longest wait between polls, in ms; Apollo's `retry_after_seconds` shortens it. Default 60 000. */
  readonly intervalMs?: number;
  /** Give up polling this long after the lookup, in ms. Default 1 800 000 (30 minutes). */
  readonly timeoutMs?: number;
}

/**
 * Asynchronous reveals: mobile phones (`reveal_phone_number`) and Apollo's
 * waterfall (`run_waterfall_email` / `run_waterfall_phone`). Apollo answers
 * them through `webhookUrl`; until then the lookup is `pending`.
 */
export interface ApolloRevealSettings {
  /** Public URL of the host's webhook route, which calls `engine.handleWebhook('apollo', request)`. */
  readonly webhookUrl: string;
  /** Reveal mobile phones (`reveal_phone_number`, 8 credits each). Default true. */
  readonly phone?: boolean;
  /** Run Apollo's waterfall for emails (email then arrives by webhook). Default false. */
  readonly waterfallEmail?: boolean;
  /** Run Apollo's waterfall for phones. Default false. */
  readonly waterfallPhone?: boolean;
  /**
   * Apollo does not sign webhooks, so a secret token is added to `webhookUrl`
   * (`leadpipe_token`) and checked on arrival. Default: random per instance;
   * set it when another process may receive the webhook.
   */
  readonly webhookToken?: string;
  /** Poll for results the webhook did not deliver. Off unless given. */
  readonly poll?: ApolloPollSettings;
  /** Most lookups kept waiting for their webhook in memory. Default 10 000. */
  readonly maxPending?: number;
  /**
   * Largest webhook body read, in bytes; a larger one is refused
   * (`payload_too_large`) before it is parsed. Default 1 MiB
   * (`DEFAULT_WEBHOOK_MAX_BODY_BYTES`).
   */
  readonly maxBodyBytes?: number;
}

/** Options of {@link createRevealTracker}. */
export interface RevealTrackerOptions {
  /** The provider id, for errors. */
  readonly providerId: string;
  /** The reveal settings; `undefined` turns reveals off (and refuses every webhook). */
  readonly reveal: ApolloRevealSettings | undefined;
  /** Credits per mobile phone revealed. */
  readonly mobilePhoneCredits: number;
  /** The client polls go through. */
  readonly http: HttpClient;
}

/** The asynchronous side of the provider: pending lookups, their webhooks, and polling. */
export interface RevealTracker {
  /** Whether reveals can supply `phone`. */
  readonly suppliesPhone: boolean;
  /** Whether a request wants a field only a reveal supplies (`phone`, or `email` with the email waterfall). */
  wantsAsync(request: EnrichRequest): boolean;
  /** Query parameters that ask Apollo for the reveal and its webhook. */
  asyncParams(): Record<string, string | boolean | undefined>;
  /**
   * Turn a synchronous match into `pending` until its webhook: the fields
   * are kept, the webhook adds the phone or email. Misses, and answers
   * without a person id or `request_id`, are returned as they are.
   */
  defer(
    result: EnrichResult,
    personId: string | null | undefined,
    requestId: string | null | undefined,
  ): EnrichResult;
  /** Verify a webhook's `leadpipe_token`, parse it, and resolve the lookups it answers. */
  handleWebhook(request: InboundWebhookRequest): WebhookResolution[];
  /** Lookups waiting for their webhook. */
  pendingCount(): number;
  /** Stop every poll and forget pending lookups. */
  close(): void;
}

interface PendingEntry {
  readonly fields: LeadFieldPatch;
  readonly fieldConfidence: Partial<Record<LeadField, number>>;
  readonly confidence: number;
}

interface PollState {
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly deadline: number;
}

/** The token query parameter added to the webhook URL. */
const WEBHOOK_TOKEN_PARAMETER = 'leadpipe_token';

function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function credit(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** Create the {@link RevealTracker} of one provider instance. Starts no timer until a lookup is deferred. */
export function createRevealTracker(options: RevealTrackerOptions): RevealTracker {
  const { providerId, reveal, http } = options;
  const revealPhone = reveal !== undefined && (reveal.phone ?? true);
  const asyncPhone = revealPhone || reveal?.waterfallPhone === true;
  const asyncEmail = reveal?.waterfallEmail === true;
  const webhookToken =
    reveal === undefined ? undefined : (reveal.webhookToken ?? randomBytes(24).toString('hex'));
  registerSecret(webhookToken);
  let webhookUrl: string | undefined;
  if (reveal !== undefined && webhookToken !== undefined) {
    const url = new URL(reveal.webhookUrl);
    url.searchParams.set(WEBHOOK_TOKEN_PARAMETER, webhookToken);
    webhookUrl = url.toString();
  }
  const maxPending = reveal?.maxPending ?? 10_000;
  const pending = new Map<string, PendingEntry>();
  const polls = new Map<string, PollState>();

  function forget(correlationId: string): PendingEntry | undefined {
    const entry = pending.get(correlationId);
    pending.delete(correlationId);
    return entry;
  }

  function remember(correlationId: string, entry: PendingEntry): void {
    if (pending.size >= maxPending) {
      const oldest = pending.keys().next().value;
      if (oldest !== undefined) forget(oldest);
    }
    pending.set(correlationId, entry);
  }

  /**
   * The pending lookup a webhook person answers: by `request_id` and person
   * id; else, when the request had a single pending person and the webhook
   * carries a single person, that one (the webhook schema is unverified).
   */
  function pendingFor(body: ApolloWebhookBody, personId: string): [string, PendingEntry | undefined] {
    const correlationId = `${body.request_id}:${personId}`;
    if (pending.has(correlationId) || (body.people ?? []).length !== 1) {
      return [correlationId, forget(correlationId)];
    }
    const prefix = `${body.request_id}:`;
    const candidates = [...pending.keys()].filter((key) => key.startsWith(prefix));
    if (candidates.length === 1) return [candidates[0]!, forget(candidates[0]!)];
    return [correlationId, undefined];
  }

  function stopPolling(requestId: string): void {
    const poll = polls.get(requestId);
    if (poll?.timer !== undefined) clearTimeout(poll.timer);
    polls.delete(requestId);
  }

  function schedulePoll(requestId: string, delayMs: number): void {
    const settings = reveal?.poll;
    if (settings === undefined) return;
    const state = polls.get(requestId) ?? {
      timer: undefined,
      deadline: Date.now() + (settings.timeoutMs ?? 1_800_000),
    };
    if (Date.now() + delayMs > state.deadline) {
      stopPolling(requestId);
      return;
    }
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void pollOnce(requestId);
    }, delayMs);
    state.timer.unref?.();
    polls.set(requestId, state);
  }

  async function pollOnce(requestId: string): Promise<void> {
    const settings = reveal?.poll;
    if (settings === undefined || !polls.has(requestId)) return;
    const intervalMs = settings.intervalMs ?? 60_000;
    let response: Awaited<ReturnType<typeof http.request<string>>>;
    try {
      response = await http.request<string>({
        path: `webhook_result/${requestId}`,
        responseType: 'text',
        acceptStatus: [400, 404, 410],
      });
    } catch {
      schedulePoll(requestId, intervalMs);
      return;
    }
    if (!polls.has(requestId)) return;
    if (response.status === 200) {
      stopPolling(requestId);
      try {
        await settings.deliver({
          method: 'POST',
          url: webhookUrl ?? '',
          headers: { 'content-type': 'application/json', 'x-leadpipe-source': 'poll' },
          rawBody: response.data,
        });
      } catch {
        // The host's route owns what happens next; a failing delivery must not crash a timer.
      }
      return;
    }
    if (response.status === 404) {
      let body: unknown;
      try {
        body = parseApolloJson(response.data);
      } catch {
        body = undefined;
      }
      const parsed = webhookResultPendingSchema.safeParse(body);
      if (parsed.success && parsed.data.error === 'result_pending') {
        const retryAfter = parsed.data.retry_after_seconds;
        const hinted = typeof retryAfter === 'number' && retryAfter > 0 ? retryAfter * 1000 : intervalMs;
        schedulePoll(requestId, Math.min(hinted, intervalMs));
        return;
      }
    }
    // 400 (malformed id), 404 (unknown id) and 410 (expired): nothing more will come.
    stopPolling(requestId);
  }

  function resolutions(body: ApolloWebhookBody): WebhookResolution[] {
    return (body.people ?? []).map((person) => {
      const [correlationId, stored] = pendingFor(body, person.id);
      const fields: LeadFieldPatch = { ...stored?.fields };
      const fieldConfidence: Partial<Record<LeadField, number>> = { ...stored?.fieldConfidence };
      let credits = 0;
      const phone = pickPhone(person.phone_numbers ?? []);
      if (phone !== undefined) {
        fields.phone = phone.phone;
        fieldConfidence.phone = phone.confidence;
        credits += options.mobilePhoneCredits;
      }
      const email = (person.emails ?? []).find(
        (item) => typeof item.email === 'string' && item.email.includes('@'),
      );
      if (email?.email) {
        fields.email = email.email.trim().toLowerCase();
        fieldConfidence.email = emailConfidence(email.email_status);
      }
      return {
        correlationId,
        result:
          Object.keys(fields).length === 0
            ? { status: 'not_found', credits: credit(credits) }
            : {
                status: 'matched',
                fields,
                fieldConfidence,
                confidence: stored?.confidence ?? APOLLO_MATCH_CONFIDENCE.email,
                credits: credit(credits),
                raw: person,
              },
      };
    });
  }

  return {
    suppliesPhone: asyncPhone,

    wantsAsync(request) {
      const fields = Array.isArray(request.fields) ? request.fields : [];
      return (asyncPhone && fields.includes('phone')) || (asyncEmail && fields.includes('email'));
    },

    asyncParams: () => ({
      webhook_url: webhookUrl,
      reveal_phone_number: revealPhone ? true : undefined,
      run_waterfall_phone: reveal?.waterfallPhone ? true : undefined,
      run_waterfall_email: reveal?.waterfallEmail ? true : undefined,
    }),

    defer(result, personId, requestId) {
      if (result.status !== 'matched' || !personId || !requestId) return result;
      const correlationId = `${requestId}:${personId}`;
      remember(correlationId, {
        fields: result.fields,
        fieldConfidence: result.fieldConfidence ?? {},
        confidence: result.confidence,
      });
      if (!polls.has(requestId)) schedulePoll(requestId, reveal?.poll?.afterMs ?? 180_000);
      return { status: 'pending', correlationId, credits: result.credits, raw: result.raw };
    },

    handleWebhook(request) {
      assertWebhookBodySize(
        request.rawBody,
        reveal?.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES,
        providerId,
      );
      if (webhookToken === undefined) {
        throw new WebhookVerificationError('payload_invalid', {
          message: `${providerId}: no reveal webhook was requested (set the reveal option)`,
          providerId,
        });
      }
      let token: string | null;
      try {
        token = new URL(request.url, 'http://localhost').searchParams.get(WEBHOOK_TOKEN_PARAMETER);
      } catch {
        token = null;
      }
      if (token === null || token === '') {
        throw new WebhookVerificationError('signature_missing', {
          message: `${providerId}: webhook URL has no ${WEBHOOK_TOKEN_PARAMETER}`,
          providerId,
        });
      }
      if (!sameSecret(token, webhookToken)) {
        throw new WebhookVerificationError('signature_invalid', {
          message: `${providerId}: webhook ${WEBHOOK_TOKEN_PARAMETER} does not match`,
          providerId,
        });
      }
      let body: ApolloWebhookBody;
      try {
        const result = apolloWebhookSchema.safeParse(
          parseApolloJson(rawBodyToString(request.rawBody, providerId)),
        );
        if (!result.success) throw result.error;
        body = result.data;
      } catch (error) {
        if (WebhookVerificationError.isInstance(error)) throw error;
        throw new WebhookVerificationError('payload_invalid', {
          message: `${providerId}: webhook body is not an Apollo reveal payload`,
          providerId,
        });
      }
      stopPolling(body.request_id);
      return resolutions(body);
    },

    pendingCount: () => pending.size,

    close() {
      for (const requestId of [...polls.keys()]) stopPolling(requestId);
      pending.clear();
    },
  };
}
