/**
 * Remembers CRM event ids already handled, so at-least-once deliveries are
 * handled once. Adapters take one to drop redelivered webhook events; core's
 * `createCrmEventDeduper()` is an in-memory one, and a shared store (Redis
 * `SET NX` with a TTL) makes another.
 */
export interface CrmEventDeduper {
  /** Whether `eventId` of `adapterId` was seen before; records it as seen either way. */
  seen(adapterId: string, eventId: string): boolean;
}
