import { z } from 'zod';
import { ValidationError } from '../contracts/errors.js';
import type { BusEvent, BusSubscription } from '../contracts/event-bus.js';
import { parseOptions } from '../options/parse-options.js';

/** Default events handled at once by one subscriber. */
export const DEFAULT_BUS_CONCURRENCY = 16;
/** Default deliveries of one event before it is dead-lettered. */
export const DEFAULT_BUS_MAX_DELIVERIES = 5;

const WORD = /^[A-Za-z0-9_-]+$/;
const TYPE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const pattern = z
  .string()
  .refine(
    (value) => value.split('.').every((word) => word === '*' || word === '#' || WORD.test(word)),
    'must be dotted words, `*` or `#`',
  );

const subscriptionSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be 1 to 200 letters, digits, `.`, `-` or `_`'),
    types: z.array(pattern).min(1, 'must name at least one event type'),
    handler: z.custom<BusSubscription['handler']>(
      (value) => typeof value === 'function',
      'must be a function',
    ),
    concurrency: z.number().int().min(1).max(10_000).default(DEFAULT_BUS_CONCURRENCY),
    maxDeliveries: z.number().int().min(1).max(1_000).default(DEFAULT_BUS_MAX_DELIVERIES),
  })
  .strict();

/** A subscription with its defaults filled in. */
export type CheckedBusSubscription = Required<BusSubscription>;

/**
 * Checks a subscription and fills its defaults.
 *
 * @param subscription - what the caller passed to `subscribe`.
 * @param busId - the bus, for the error message.
 * @throws ConfigurationError naming each wrong option.
 */
export function checkBusSubscription(subscription: unknown, busId: string): CheckedBusSubscription {
  return parseOptions(subscriptionSchema, subscription, { name: `${busId} subscribe` });
}

/**
 * Checks events before they are published: each needs a non-empty `id`, a
 * dotted `type`, an ISO 8601 `occurredAt` and a JSON payload.
 *
 * @throws ValidationError naming the event (`events.2.type`) and the reason.
 */
export function checkBusEvents(events: readonly BusEvent[]): void {
  const issues: { field: string; reason: string }[] = [];
  events.forEach((event, index) => {
    const at = `events.${index}`;
    if (typeof event !== 'object' || event === null) {
      issues.push({ field: at, reason: 'is not an event object' });
      return;
    }
    if (typeof event.id !== 'string' || event.id.length === 0 || event.id.length > 500)
      issues.push({ field: `${at}.id`, reason: 'must be a string of 1 to 500 characters' });
    if (typeof event.type !== 'string' || !TYPE.test(event.type))
      issues.push({ field: `${at}.type`, reason: 'must be dotted words such as lead.created' });
    if (typeof event.occurredAt !== 'string' || Number.isNaN(Date.parse(event.occurredAt)))
      issues.push({ field: `${at}.occurredAt`, reason: 'must be an ISO 8601 time' });
    try {
      if (JSON.stringify(event.payload) === undefined && event.payload !== undefined)
        issues.push({ field: `${at}.payload`, reason: 'must be JSON' });
    } catch {
      issues.push({ field: `${at}.payload`, reason: 'must be JSON (it could not be serialized)' });
    }
  });
  if (issues.length > 0) throw new ValidationError(issues);
}

/**
 * Whether an event `type` matches a binding `pattern`, with AMQP topic rules:
 * words split on `.`, `*` matches exactly one word, `#` zero or more.
 *
 * @param pattern - such as `lead.*` or `email.#`.
 * @param type - such as `lead.created`.
 */
export function topicMatches(pattern: string, type: string): boolean {
  return matchWords(pattern.split('.'), 0, type.split('.'), 0);
}

function matchWords(pattern: readonly string[], p: number, words: readonly string[], w: number): boolean {
  if (p === pattern.length) return w === words.length;
  const head = pattern[p];
  if (head === '#') {
    for (let skip = w; skip <= words.length; skip += 1)
      if (matchWords(pattern, p + 1, words, skip)) return true;
    return false;
  }
  if (w === words.length) return false;
  return (head === '*' || head === words[w]) && matchWords(pattern, p + 1, words, w + 1);
}
