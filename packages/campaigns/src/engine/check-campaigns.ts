import { ConfigurationError, type ValidationIssue } from '@leadpipe/core';
import { observabilityOptionsShape } from '@leadpipe/core/adapter-kit';
import { parseEventMatch } from '../definition/match.js';
import type { CampaignEngineOptions } from './engine.js';
import type { CampaignTiming } from './timing.js';
import { END_OF_CAMPAIGN } from './types.js';

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Checks the engine's options and campaigns before it starts: ids, step
 * targets, templates, senders with postal addresses, the unsubscribe
 * endpoint, CRMs, webhooks, cron patterns, the `logger` and `onError`
 * options, and the timing's own checks.
 * Throws one `ConfigurationError` naming every wrong field.
 */
export function checkCampaigns(options: CampaignEngineOptions, timing: CampaignTiming): void {
  const issues: ValidationIssue[] = [];
  const required = {
    campaigns: Array.isArray(options?.campaigns),
    store: typeof options?.store === 'object',
    leads: typeof options?.leads === 'object',
  };
  for (const [field, present] of Object.entries(required)) {
    if (!present)
      issues.push({
        field,
        reason: field === 'campaigns' ? 'must be an array of campaign definitions' : 'is required',
      });
  }
  for (const field of ['logger', 'onError'] as const) {
    const parsed = observabilityOptionsShape[field].safeParse(options[field]);
    if (!parsed.success)
      issues.push({ field, reason: parsed.error.issues[0]?.message ?? `is not a valid ${field}` });
  }
  if (issues.length > 0) throw new ConfigurationError('invalid_configuration', { issues });
  const checkMatch = (match: unknown, field: string) => {
    if (match === undefined) return;
    const parsed = parseEventMatch(match);
    if (!parsed.ok)
      for (const issue of parsed.issues)
        issues.push({ field: [field, ...issue.path].join('.'), reason: issue.message });
  };
  const ids = new Set<string>();
  let emailSteps = 0;
  let marketing = 0;
  options.campaigns.forEach((campaign, index) => {
    const at = `campaigns.${index}`;
    if (!ID.test(campaign.id))
      issues.push({ field: `${at}.id`, reason: 'must be 1-64 letters, digits, _ or -' });
    if (ids.has(campaign.id)) issues.push({ field: `${at}.id`, reason: `repeats "${campaign.id}"` });
    ids.add(campaign.id);
    if (campaign.steps.length === 0)
      issues.push({ field: `${at}.steps`, reason: 'must hold at least one step' });
    const stepIds = new Set(campaign.steps.map((step) => step.id));
    const seen = new Set<string>();
    campaign.steps.forEach((step, stepIndex) => {
      const where = `${at}.steps.${stepIndex}`;
      if (!ID.test(step.id))
        issues.push({ field: `${where}.id`, reason: 'must be 1-64 letters, digits, _ or -' });
      if (seen.has(step.id)) issues.push({ field: `${where}.id`, reason: `repeats "${step.id}"` });
      seen.add(step.id);
      const targets: [string, string | undefined][] = [['next', step.next]];
      if (step.type === 'branch') targets.push(['whenTrue', step.whenTrue], ['whenFalse', step.whenFalse]);
      if (step.type === 'waitForEvent')
        targets.push(['onEvent', step.onEvent], ['onTimeout', step.onTimeout]);
      for (const [name, target] of targets) {
        if (target !== undefined && target !== END_OF_CAMPAIGN && !stepIds.has(target))
          issues.push({ field: `${where}.${name}`, reason: `names no step ("${target}")` });
      }
      if (step.type === 'email') {
        emailSteps++;
        if (step.marketing !== false) marketing++;
        const templates = step.variants ?? (step.template === undefined ? [] : [step.template]);
        if (templates.length === 0)
          issues.push({ field: `${where}.template`, reason: 'an email step needs a template or variants' });
        for (const template of templates) {
          if (template.html === undefined && template.text === undefined)
            issues.push({ field: `${where}.template`, reason: 'needs html or text' });
        }
        if (
          step.variants?.some(
            (variant) => !ID.test(variant.id) || (variant.weight !== undefined && !(variant.weight > 0)),
          ) === true
        ) {
          issues.push({
            field: `${where}.variants`,
            reason: 'each variant needs an id and a positive weight',
          });
        }
        if (
          step.from !== undefined &&
          !(options.senders ?? []).some((sender) => sender.email === step.from)
        ) {
          issues.push({ field: `${where}.from`, reason: 'names no sender' });
        }
      }
      if (step.type === 'crm' && options.crms?.[step.crm] === undefined)
        issues.push({ field: `${where}.crm`, reason: `names no CRM of the engine's crms` });
      if (step.type === 'waitForEvent') {
        if (!(step.timeoutMs > 0)) issues.push({ field: `${where}.timeoutMs`, reason: 'must be above 0' });
        checkMatch(step.match, `${where}.match`);
      }
      if (
        step.type === 'wait' &&
        [step.durationMs, step.businessDays, step.until].filter((value) => value !== undefined).length !== 1
      ) {
        issues.push({ field: where, reason: 'a wait needs exactly one of durationMs, businessDays, until' });
      }
      if (step.type === 'webhook') {
        if (!/^https?:\/\//.test(step.url))
          issues.push({ field: `${where}.url`, reason: 'must be an http(s) URL' });
        if (step.secret.length < 16)
          issues.push({ field: `${where}.secret`, reason: 'must be at least 16 characters' });
      }
    });
    campaign.triggers.forEach((trigger, triggerIndex) => {
      if (trigger.type === 'cron') {
        try {
          timing.nextCronTime(trigger.cron, trigger.timeZone, 0);
        } catch {
          issues.push({
            field: `${at}.triggers.${triggerIndex}.cron`,
            reason: 'is not a valid cron pattern in that time zone',
          });
        }
      }
      if (trigger.type === 'at' && Number.isNaN(Date.parse(trigger.at)))
        issues.push({ field: `${at}.triggers.${triggerIndex}.at`, reason: 'must be an ISO 8601 time' });
      if (trigger.type === 'event') checkMatch(trigger.match, `${at}.triggers.${triggerIndex}.match`);
    });
    (campaign.exitOn ?? []).forEach((rule, ruleIndex) => {
      if (typeof rule === 'string') return;
      if (typeof rule?.event !== 'string' || rule.event === '')
        issues.push({ field: `${at}.exitOn.${ruleIndex}.event`, reason: 'must name an event type' });
      else checkMatch(rule.match, `${at}.exitOn.${ruleIndex}.match`);
    });
    issues.push(...timing.validate(campaign));
  });
  if (emailSteps > 0) {
    if (options.email === undefined)
      issues.push({ field: 'email', reason: 'is required: a campaign has email steps' });
    if ((options.senders ?? []).length === 0)
      issues.push({ field: 'senders', reason: 'is required: a campaign has email steps' });
  }
  (options.senders ?? []).forEach((sender, index) => {
    if (sender.dailyCap !== undefined && !(Number.isInteger(sender.dailyCap) && sender.dailyCap >= 1))
      issues.push({ field: `senders.${index}.dailyCap`, reason: 'must be a positive integer' });
    if (sender.minGapMs !== undefined && !(Number.isFinite(sender.minGapMs) && sender.minGapMs >= 0))
      issues.push({ field: `senders.${index}.minGapMs`, reason: 'must be 0 or more' });
    if (typeof sender.postalAddress !== 'string' || sender.postalAddress.trim().length < 5) {
      issues.push({
        field: `senders.${index}.postalAddress`,
        reason: 'is required: every marketing email carries a postal address (CAN-SPAM)',
      });
    }
  });
  if (marketing > 0) {
    const unsubscribe = options.unsubscribe;
    if (unsubscribe === undefined)
      issues.push({
        field: 'unsubscribe',
        reason: 'is required: marketing emails carry an unsubscribe link',
      });
    else {
      if (!/^https:\/\//.test(unsubscribe.baseUrl))
        issues.push({ field: 'unsubscribe.baseUrl', reason: 'must be an HTTPS URL (RFC 8058)' });
      if (typeof unsubscribe.secret !== 'string' || unsubscribe.secret.length < 16)
        issues.push({ field: 'unsubscribe.secret', reason: 'must be at least 16 characters' });
    }
  }
  if (issues.length > 0) throw new ConfigurationError('invalid_configuration', { issues });
}
