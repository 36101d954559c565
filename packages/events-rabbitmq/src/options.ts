import { parseOptions, registerSecret } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/** Settings of {@link createRabbitMqEventBus}. */
export interface RabbitMqEventBusSettings {
  /**
   * The broker, as an AMQP URL (`amqp://user:password@host:5672/vhost`,
   * `amqps://` for TLS). Default: the `AMQP_URL` environment variable, else
   * `amqp://guest:guest@127.0.0.1:5672`. The password is registered as a
   * secret: it never appears in an error or event.
   */
  readonly url?: string;
  /** The topic exchange events are published to. Default `leadpipe.events`. */
  readonly exchange?: string;
  /** Prefix of every subscription's queue name. Default `leadpipe.`. */
  readonly queuePrefix?: string;
  /** Connection name shown in the RabbitMQ management UI. Default `leadpipe`. */
  readonly connectionName?: string;
  /** First wait before reconnecting after the connection drops, ms. Default 200; doubles up to `reconnectMaxDelayMs`. */
  readonly reconnectDelayMs?: number;
  /** Longest wait between reconnection attempts, ms. Default 10,000. */
  readonly reconnectMaxDelayMs?: number;
  /** Told about background failures (a dropped connection, a failed reconnect); default: ignore. */
  readonly onError?: (error: Error) => void;
}

const NAME = /^[A-Za-z0-9._-]{1,200}$/;

const settingsSchema = z
  .object({
    url: z
      .string()
      .refine((value) => /^amqps?:\/\//.test(value), 'must be an amqp:// or amqps:// URL')
      .optional(),
    exchange: z
      .string()
      .regex(NAME, 'must be 1 to 200 letters, digits, `.`, `-` or `_`')
      .default('leadpipe.events'),
    queuePrefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]{0,50}$/, 'must be up to 50 letters, digits, `.`, `-` or `_`')
      .default('leadpipe.'),
    connectionName: z.string().min(1).max(200).default('leadpipe'),
    reconnectDelayMs: z.number().int().min(1).max(60_000).default(200),
    reconnectMaxDelayMs: z.number().int().min(1).max(600_000).default(10_000),
    onError: z
      .custom<(error: Error) => void>((value) => typeof value === 'function', 'must be a function')
      .optional(),
  })
  .strict();

/** Settings with defaults filled in and the URL resolved. */
export type CheckedSettings = Omit<z.output<typeof settingsSchema>, 'url'> & { readonly url: string };

/**
 * Checks the settings, fills defaults, resolves the URL from `AMQP_URL` when
 * not given, and registers its password as a secret.
 *
 * @throws ConfigurationError naming each wrong option.
 */
export function checkSettings(settings: RabbitMqEventBusSettings, env = process.env): CheckedSettings {
  const parsed = parseOptions(settingsSchema, settings, { name: 'createRabbitMqEventBus' });
  const url = parsed.url ?? env.AMQP_URL?.trim() ?? 'amqp://guest:guest@127.0.0.1:5672';
  const password = safePassword(url);
  if (password !== undefined) registerSecret(password);
  return { ...parsed, url };
}

function safePassword(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === '' ? undefined : password;
  } catch {
    return undefined;
  }
}

/** `url` with its password replaced, for messages. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an AMQP URL that does not parse';
  }
}
