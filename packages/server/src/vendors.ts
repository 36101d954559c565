import type {
  CrmAdapterV1,
  EmailProviderV1,
  EnrichmentProviderV1,
  VendorDescriptor,
  VendorEnvironment,
} from '@leadpipe/core';
import { getHeader } from '@leadpipe/core/adapter-kit';
import { hubspotDescriptor } from '@leadpipe/crm-hubspot';
import { salesforceDescriptor, salesforceOutboundResponse } from '@leadpipe/crm-salesforce';
import { mailgunDescriptor } from '@leadpipe/email-mailgun';
import { sendgridDescriptor } from '@leadpipe/email-sendgrid';
import { apolloDescriptor } from '@leadpipe/provider-apollo';
import { clearbitDescriptor } from '@leadpipe/provider-clearbit';
import {
  crmWebhookReceiver,
  emailWebhookReceiver,
  providerWebhookReceiver,
  type WebhookReceiver,
} from './webhooks/receivers.js';

/**
 * Every vendor that sends webhooks, one line each: the server's only list of
 * vendors. Routes, `fromEnv` and answers are read from the descriptors.
 */
export const WEBHOOK_VENDORS: readonly VendorDescriptor[] = [
  hubspotDescriptor,
  salesforceDescriptor,
  clearbitDescriptor,
  apolloDescriptor,
  sendgridDescriptor,
  mailgunDescriptor,
];

/** Salesforce Outbound Messages (SOAP) are acknowledged in SOAP; its signed JSON callouts get the default answer. */
const RESPONDERS: Readonly<Record<string, WebhookReceiver['respond']>> = {
  [salesforceDescriptor.id]: (request, published) => {
    const type = getHeader(request.headers, 'content-type') ?? '';
    return /xml/i.test(type) ? salesforceOutboundResponse(published) : undefined;
  },
};

/** The receiver of an adapter that one of {@link WEBHOOK_VENDORS} built. */
function receiverFor(descriptor: VendorDescriptor, adapter: unknown): WebhookReceiver {
  if (descriptor.kind === 'crm')
    return crmWebhookReceiver(adapter as CrmAdapterV1, RESPONDERS[descriptor.id]);
  if (descriptor.kind === 'email') return emailWebhookReceiver(adapter as EmailProviderV1);
  return providerWebhookReceiver(adapter as EnrichmentProviderV1);
}

/** An adapter built for its webhooks, to close when the server stops. */
export interface BuiltWebhookAdapter {
  /** Release its sockets and timers, when it holds any. */
  close?(): Promise<void>;
}

/** A vendor whose webhooks are off, and why. */
export interface SkippedWebhookVendor {
  /** The vendor id. */
  readonly id: string;
  /** The environment variables that would turn its webhooks on. */
  readonly missing: string;
}

/** What {@link webhookReceiversFromEnv} built, and what it could not. */
export interface WebhookReceiversFromEnv {
  /** One receiver per vendor whose credentials were set. */
  readonly receivers: readonly WebhookReceiver[];
  /** The adapters built, to `close?.()` when the server stops. */
  readonly adapters: readonly BuiltWebhookAdapter[];
  /** Vendors left out, with the variables that would enable them. */
  readonly skipped: readonly SkippedWebhookVendor[];
}

/**
 * Build a webhook receiver for every vendor of {@link WEBHOOK_VENDORS} whose
 * credentials `env` holds (`HUBSPOT_CLIENT_SECRET`, `SENDGRID_WEBHOOK_PUBLIC_KEY`...);
 * secrets read are registered for redaction.
 */
export function webhookReceiversFromEnv(env: VendorEnvironment): WebhookReceiversFromEnv {
  const receivers: WebhookReceiver[] = [];
  const adapters: BuiltWebhookAdapter[] = [];
  const skipped: SkippedWebhookVendor[] = [];
  for (const descriptor of WEBHOOK_VENDORS) {
    const missing = descriptor.missingVariables(env);
    if (missing.length > 0) {
      skipped.push({ id: descriptor.id, missing: missing.map((entry) => entry.variables).join('; ') });
      continue;
    }
    const adapter = descriptor.fromEnv(env);
    adapters.push(adapter);
    receivers.push(receiverFor(descriptor, adapter));
  }
  return { receivers, adapters, skipped };
}
