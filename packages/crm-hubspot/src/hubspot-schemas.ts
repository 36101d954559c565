import { z } from 'zod';

const looseString = z.union([z.string(), z.number()]).transform(String);
const contextSchema = z.record(z.string(), z.array(looseString)).optional().catch(undefined);

/** One per-record error of a batch answer (`StandardError`). Every field is optional, as HubSpot documents. */
const batchErrorSchema = z
  .object({
    status: z.string().optional(),
    category: z.string().optional(),
    subCategory: z.unknown().optional(),
    message: z.string().optional(),
    context: contextSchema,
    id: looseString.optional(),
  })
  .loose();

/** A HubSpot per-record error. */
export type HubspotBatchError = z.infer<typeof batchErrorSchema>;

/** One record of a batch upsert or read answer. */
const batchRecordSchema = z
  .object({
    id: looseString,
    new: z.boolean().optional(),
    properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).nullable()).optional(),
    updatedAt: z.string().optional(),
    objectWriteTraceId: z.string().optional(),
  })
  .loose();

/** A batch answer (200 or 207). */
export const batchResponseSchema = z
  .object({
    status: z.string().optional(),
    results: z.array(batchRecordSchema).optional().default([]),
    errors: z.array(batchErrorSchema).optional().default([]),
    numErrors: z.number().optional(),
  })
  .loose();

/** A search answer. */
export const searchResponseSchema = z
  .object({
    total: z.number().optional(),
    results: z.array(batchRecordSchema),
    paging: z.object({ next: z.object({ after: looseString }).optional() }).optional(),
  })
  .loose();

/** One property definition from the Properties API. */
const propertyDefinitionSchema = z
  .object({
    name: z.string(),
    label: z.string().optional().default(''),
    type: z.string().optional().default('string'),
    fieldType: z.string().optional().default('text'),
    groupName: z.string().optional(),
    hasUniqueValue: z.boolean().optional().default(false),
    hubspotDefined: z.boolean().optional().default(false),
    options: z
      .array(z.object({ value: z.string(), label: z.string().optional() }).loose())
      .optional()
      .default([]),
  })
  .loose();

/** The Properties API's list answer. */
export const propertiesResponseSchema = z.object({ results: z.array(propertyDefinitionSchema) }).loose();

/** One webhook event (legacy `contact.*` subscriptions and the new platform's `object.*`). */
export const webhookEventSchema = z
  .object({
    eventId: looseString,
    subscriptionType: z.string(),
    objectId: looseString,
    occurredAt: z.number().int().nonnegative(),
    portalId: z.number().optional(),
    propertyName: z.string().optional(),
    propertyValue: z.union([z.string(), z.number(), z.boolean()]).nullable().optional(),
    changeSource: z.string().optional(),
    objectTypeId: z.string().optional(),
    objectName: z.string().optional(),
    objectType: z.string().optional(),
  })
  .loose();

/** A HubSpot webhook event. */
export type HubspotWebhookEventInput = z.infer<typeof webhookEventSchema>;
