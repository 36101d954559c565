import type { CampaignJsonValue } from '@leadpipe/core';
import { ConfigurationError, type ValidationIssue } from '@leadpipe/core/adapter-kit';
import {
  type CampaignDefinition,
  type CampaignEmailTemplate,
  type CampaignExitRule,
  END_OF_CAMPAIGN,
  type CampaignSender as EngineSender,
  type CampaignStep as EngineStep,
  type CampaignTrigger as EngineTrigger,
} from '../engine/types.js';
import { parseDuration } from '../schedule/wait.js';
import type { Campaign, CampaignStep, EmailTemplateSource, ExitRule, TemplateRef } from './types.js';

/** Options of {@link toEngineCampaign}. */
export interface ToEngineCampaignOptions {
  /** Resolves a webhook step's `secretRef` to the signing secret. Default: `process.env[secretRef]`. */
  readonly resolveSecret?: (secretRef: string) => string | undefined;
  /** The CRM object `updateCrm` steps write. Default `contacts`. */
  readonly crmObject?: string;
  /** The CRM property that identifies the record, read from the lead's `email`. Default `email`. */
  readonly crmIdProperty?: string;
  /** The CRM adapter name (a key of the engine's `crms`) for `updateCrm` steps that name none. Default `default`. */
  readonly defaultCrm?: string;
}

/** A checked campaign in the engine's terms: pass `campaign` to `createCampaignEngine`'s `campaigns`, `senders` to its `senders`. */
export interface EngineCampaign {
  /** The engine's definition. */
  readonly campaign: CampaignDefinition;
  /** The sender and every mailbox, each with the campaign's postal address (the first is the default). */
  readonly senders: readonly EngineSender[];
  /** The https base of unsubscribe links: the engine's `unsubscribe.baseUrl`. */
  readonly unsubscribeBaseUrl: string;
}

const EXIT_EVENTS: Readonly<Record<string, string>> = {
  reply: 'email.replied',
  bounce: 'email.bounced',
  unsubscribe: 'email.unsubscribed',
  complaint: 'email.complained',
  meetingBooked: 'meeting.booked',
};

const millisOf = (duration: Parameters<typeof parseDuration>[0], field: string): number => {
  const parsed = parseDuration(duration, field);
  return parsed.days * 86_400_000 + parsed.milliseconds;
};

/**
 * Turns a checked campaign (from `parseCampaign`, `loadCampaign`, `loadCampaignFile` or `defineCampaign`) into
 * what `createCampaignEngine` takes: nested `branch` `then` / `else` lists become steps joined by `whenTrue`,
 * `whenFalse` and `next`; templates are resolved by name; exit reasons become event types and custom exit rules
 * keep their `match`; the sender and the mailboxes become `senders` carrying the postal address (and each
 * mailbox's own `dailyCap` and `minGap`); windows, holidays, zones and caps become the sending policy. Throws a
 * `ConfigurationError` naming the path for what the engine cannot run (a webhook secret that does not resolve, a
 * lead update outside `custom.`).
 *
 * @param definition - a checked campaign.
 * @param options - secret resolution and CRM defaults.
 */
export function toEngineCampaign(
  definition: Campaign,
  options: ToEngineCampaignOptions = {},
): EngineCampaign {
  const issues: ValidationIssue[] = [];
  const resolveSecret = options.resolveSecret ?? ((ref: string) => process.env[ref]);
  const templateOf = (ref: TemplateRef, field: string): CampaignEmailTemplate => {
    const source: EmailTemplateSource | undefined = typeof ref === 'string' ? definition.templates[ref] : ref;
    if (source === undefined) {
      issues.push({ field, reason: `names no template ("${String(ref)}")` });
      return { subject: '', text: '' };
    }
    return {
      subject: source.subject,
      html: source.html,
      ...(source.text === undefined ? {} : { text: source.text }),
    };
  };
  const steps: EngineStep[] = [];
  const flatten = (list: readonly CampaignStep[], after: string, path: string): void => {
    list.forEach((step, index) => {
      const field = `${path}[${index}]`;
      const next = list[index + 1]?.id ?? after;
      const base = { id: step.id, next };
      switch (step.kind) {
        case 'email': {
          const { email } = step;
          const mailbox = email.mailbox === undefined ? undefined : definition.mailboxes?.[email.mailbox];
          if (email.mailbox !== undefined && mailbox === undefined)
            issues.push({ field: `${field}.email.mailbox`, reason: `names no mailbox ("${email.mailbox}")` });
          steps.push({
            ...base,
            type: 'email',
            ...(email.template === undefined
              ? {}
              : { template: templateOf(email.template, `${field}.email.template`) }),
            ...(email.variants === undefined
              ? {}
              : {
                  variants: email.variants.map((variant, position) => ({
                    id: variant.id,
                    weight: variant.weight,
                    ...templateOf(variant.template, `${field}.email.variants[${position}].template`),
                  })),
                }),
            ...(mailbox === undefined ? {} : { from: mailbox.from }),
            marketing: !email.transactional,
          });
          break;
        }
        case 'webhook': {
          const secret = resolveSecret(step.webhook.secretRef);
          if (secret === undefined || secret === '')
            issues.push({ field: `${field}.webhook.secretRef`, reason: 'does not resolve to a secret' });
          steps.push({
            ...base,
            type: 'webhook',
            url: step.webhook.url,
            secret: secret ?? '',
            timeoutMs: millisOf(step.webhook.timeout, `${field}.webhook.timeout`),
          });
          break;
        }
        case 'updateLead': {
          const custom: Record<string, CampaignJsonValue> = {};
          for (const [path, value] of Object.entries(step.updateLead.set)) {
            if (!path.startsWith('custom.') || path.split('.').length !== 2)
              issues.push({
                field: `${field}.updateLead.set.${path}`,
                reason: 'only custom.<field> can be set',
              });
            else custom[path.slice('custom.'.length)] = value as CampaignJsonValue;
          }
          steps.push({ ...base, type: 'updateLead', custom });
          break;
        }
        case 'updateCrm':
          steps.push({
            ...base,
            type: 'crm',
            crm: step.updateCrm.crm ?? options.defaultCrm ?? 'default',
            object: options.crmObject ?? 'contacts',
            idProperty: options.crmIdProperty ?? 'email',
            properties: step.updateCrm.properties as Record<string, string | number | boolean>,
          });
          break;
        case 'wait': {
          const { wait } = step;
          steps.push({
            ...base,
            type: 'wait',
            ...(wait.duration === undefined
              ? {}
              : { durationMs: millisOf(wait.duration, `${field}.wait.duration`) }),
            ...(wait.businessDays === undefined ? {} : { businessDays: wait.businessDays }),
            ...(wait.until === undefined ? {} : { until: wait.until }),
          });
          break;
        }
        case 'waitForEvent': {
          const wait = step.waitForEvent;
          const exitId = `${step.id}-timeout-exit`;
          steps.push({
            ...base,
            type: 'waitForEvent',
            events: [wait.event],
            ...(wait.match === undefined ? {} : { match: wait.match }),
            timeoutMs: millisOf(wait.timeout, `${field}.waitForEvent.timeout`),
            ...(wait.onTimeout === 'exit' ? { onTimeout: exitId } : {}),
          });
          if (wait.onTimeout === 'exit') steps.push({ id: exitId, type: 'exit', reason: 'timeout' });
          break;
        }
        case 'branch': {
          const { branch } = step;
          steps.push({
            ...base,
            type: 'branch',
            if: branch.if,
            whenTrue: branch.then[0]?.id ?? next,
            whenFalse: branch.else[0]?.id ?? next,
          });
          flatten(branch.then, next, `${field}.branch.then`);
          flatten(branch.else, next, `${field}.branch.else`);
          break;
        }
        case 'exit':
          steps.push({
            ...base,
            type: 'exit',
            ...(step.exit.reason === undefined ? {} : { reason: step.exit.reason }),
          });
          break;
      }
    });
  };
  flatten(definition.steps, END_OF_CAMPAIGN, 'steps');

  const trigger = definition.trigger;
  const triggers: EngineTrigger[] = [];
  if (trigger.kind === 'time') {
    triggers.push(
      'cron' in trigger.time
        ? { type: 'cron', cron: trigger.time.cron, timeZone: trigger.time.timeZone }
        : { type: 'at', at: trigger.time.at },
    );
  } else if (trigger.kind === 'event') {
    triggers.push({
      type: 'event',
      event: trigger.event.name,
      ...(trigger.event.match === undefined ? {} : { match: trigger.event.match }),
    });
  } else {
    triggers.push({ type: 'condition', when: trigger.condition.when });
  }

  const exitOn = definition.exitOn.map((rule: ExitRule): string | CampaignExitRule => {
    if (typeof rule === 'string') return EXIT_EVENTS[rule] ?? rule;
    return rule.match === undefined ? rule.event : { event: rule.event, match: rule.match };
  });

  if (issues.length > 0) {
    throw new ConfigurationError('invalid_configuration', {
      issues,
      message: `campaign ${definition.id}: ${issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ')}`,
    });
  }

  const { sender } = definition;
  const from = typeof sender.from === 'string' ? { email: sender.from } : sender.from;
  const replyTo = sender.replyTo === undefined ? {} : { replyTo: { email: sender.replyTo } };
  const senders: EngineSender[] = [
    { ...from, postalAddress: sender.postalAddress, ...replyTo },
    ...Object.entries(definition.mailboxes ?? {}).map(([key, mailbox]) => ({
      email: mailbox.from,
      ...(mailbox.name === undefined ? {} : { name: mailbox.name }),
      postalAddress: sender.postalAddress,
      ...replyTo,
      // The mailbox's own limits travel with it; the campaign's caps apply to mailboxes without them.
      ...(mailbox.dailyCap === undefined ? {} : { dailyCap: mailbox.dailyCap }),
      ...(mailbox.minGap === undefined
        ? {}
        : { minGapMs: millisOf(mailbox.minGap, `mailboxes.${key}.minGap`) }),
    })),
  ];
  const { caps } = definition;
  return {
    campaign: {
      id: definition.id,
      triggers,
      ...(definition.audience === undefined ? {} : { audience: definition.audience }),
      steps,
      exitOn,
      sending: {
        timeZone: definition.timeZone,
        recipientTimeZone: definition.recipientTimeZone,
        windows: definition.sendingWindows,
        holidays: definition.holidays,
        ...(caps.dailyPerMailbox === undefined ? {} : { dailyCapPerMailbox: caps.dailyPerMailbox }),
        ...(caps.minGap === undefined ? {} : { minGapMs: millisOf(caps.minGap, 'caps.minGap') }),
      },
    },
    senders,
    unsubscribeBaseUrl: sender.unsubscribeBaseUrl,
  };
}
