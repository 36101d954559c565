/** `messaging.system` of this package's queue spans and depth gauge (OpenTelemetry semantic conventions). */
export const MESSAGING_SYSTEM = { 'messaging.system': 'bullmq' } as const;
