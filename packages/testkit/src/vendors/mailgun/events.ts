import { createHmac } from 'node:crypto';

/**
 * A Mailgun webhook signature block: `signature` is the hex HMAC-SHA256 of
 * `timestamp + token` under the account's HTTP webhook signing key.
 */
export interface MailgunSignature {
  /** Epoch seconds, as text. */
  readonly timestamp: string;
  /** 50 random hex characters, unique per delivery. */
  readonly token: string;
  /** Hex HMAC-SHA256 of `timestamp + token`. */
  readonly signature: string;
}

/** Sign `timestamp + token` with a webhook signing key, as Mailgun does. */
export function mailgunSignature(signingKey: string, timestamp: string, token: string): MailgunSignature {
  const signature = createHmac('sha256', signingKey).update(`${timestamp}${token}`).digest('hex');
  return { timestamp, token, signature };
}

/** The events the emulator reports through its event webhook (Mailgun's `event-data.event`). */
export type MailgunEventName =
  | 'accepted'
  | 'delivered'
  | 'failed'
  | 'opened'
  | 'clicked'
  | 'unsubscribed'
  | 'complained';

/** A message as the emulator stored it when `POST /v3/{domain}/messages` accepted it. */
export interface StoredMailgunMessage {
  /** The message id without angle brackets (the API answers it as `<id>`; events carry it bare). */
  readonly id: string;
  /** The sending domain from the URL. */
  readonly domain: string;
  /** The `from` field, as sent. */
  readonly from: string;
  /** Every `to` address, as sent (a field may hold several, comma-separated). */
  readonly to: readonly string[];
  /** `cc` addresses. */
  readonly cc: readonly string[];
  /** `bcc` addresses. */
  readonly bcc: readonly string[];
  /** The subject. */
  readonly subject: string | undefined;
  /** The plain-text body. */
  readonly text: string | undefined;
  /** The HTML body. */
  readonly html: string | undefined;
  /** Custom MIME headers from `h:` fields, by the name sent (`h:List-Unsubscribe` → `List-Unsubscribe`). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * User variables: `h:X-Mailgun-Variables` (a JSON object) merged with the
   * `v:` fields, the `v:` fields winning. Returned as `user-variables` in events.
   */
  readonly variables: Readonly<Record<string, unknown>>;
  /** `o:tag` values. */
  readonly tags: readonly string[];
  /** Every other `o:` option, by name without the prefix (`testmode`, `tracking`). */
  readonly options: Readonly<Record<string, string>>;
  /** Emulated epoch ms the message was accepted. */
  readonly acceptedAt: number;
  /** Size in bytes of the request body. */
  readonly size: number;
}

/** Details of one injected event. */
export interface MailgunEventDetails {
  /** For `failed`: `permanent` (a hard bounce) or `temporary` (Mailgun retries). Default `permanent`. */
  readonly severity?: 'permanent' | 'temporary';
  /** For `failed`: Mailgun's reason (`bounce`, `generic`, `suppress-bounce`, `espblock`...). Default `bounce`. */
  readonly reason?: string;
  /** For `failed`: the SMTP code. Default 550 (permanent) or 421 (temporary). */
  readonly code?: number;
  /** For `failed`: the SMTP answer text. */
  readonly description?: string;
  /** For `clicked`: the URL. Default `https://example.com/`. */
  readonly url?: string;
  /** The recipient, when not the message's first `to`. */
  readonly recipient?: string;
  /** Emulated epoch ms the event happened. Default now. */
  readonly at?: number;
}

/** The address inside `Name <address>`, lower case. */
export function bareAddress(value: string): string {
  const match = /<([^<>]+)>\s*$/.exec(value);
  return (match ? match[1]! : value).trim().toLowerCase();
}

/**
 * The `event-data` object Mailgun posts for `event` on `message`, with the
 * fields a receiver reads: `id`, `timestamp` (epoch seconds with a fraction),
 * `event`, `recipient`, `message.headers.message-id`, `user-variables`,
 * `tags`, and per event `severity`/`reason`/`delivery-status` or `url`.
 */
export function mailgunEventData(
  message: StoredMailgunMessage,
  event: MailgunEventName,
  details: MailgunEventDetails,
  eventId: string,
  now: number,
): Record<string, unknown> {
  const recipient = bareAddress(details.recipient ?? message.to[0] ?? '');
  const at = details.at ?? now;
  const data: Record<string, unknown> = {
    id: eventId,
    timestamp: at / 1000,
    'log-level': event === 'failed' ? (details.severity === 'temporary' ? 'warn' : 'error') : 'info',
    event,
    recipient,
    'recipient-domain': recipient.split('@')[1] ?? '',
    message: {
      headers: {
        'message-id': message.id,
        from: message.from,
        to: message.to.join(', '),
        subject: message.subject ?? '',
      },
      attachments: [],
      size: message.size,
    },
    envelope: { sender: `bounce+${message.domain}@${message.domain}`, transport: 'smtp', targets: recipient },
    flags: { 'is-authenticated': true, 'is-test-mode': message.options.testmode === 'yes' },
    tags: [...message.tags],
    'user-variables': { ...message.variables },
  };
  if (event === 'delivered') {
    data['delivery-status'] = {
      code: 250,
      message: 'OK',
      description: '',
      'attempt-no': 1,
      tls: true,
      'certificate-verified': true,
    };
  } else if (event === 'failed') {
    const severity = details.severity ?? 'permanent';
    const code = details.code ?? (severity === 'permanent' ? 550 : 421);
    data.severity = severity;
    data.reason = details.reason ?? (severity === 'permanent' ? 'bounce' : 'generic');
    data['delivery-status'] = {
      code,
      message:
        details.description ??
        (severity === 'permanent'
          ? '5.1.1 The email account that you tried to reach does not exist.'
          : '4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.'),
      description: '',
      'attempt-no': 1,
      'retry-seconds': severity === 'temporary' ? 600 : undefined,
    };
  } else if (event === 'clicked') {
    data.url = details.url ?? 'https://example.com/';
    data.ip = '192.0.2.10';
  } else if (event === 'opened') {
    data.ip = '192.0.2.10';
  }
  return data;
}
