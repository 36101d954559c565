import { LeadpipeError } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import { assertCron } from '../schedule/trigger-time.js';
import { parseDuration } from '../schedule/wait.js';
import { isCalendarDate, isClockTime, WEEKDAYS, type Weekday } from '../schedule/window.js';
import { isValidTimeZone } from '../schedule/zone.js';
import { createTemplateRenderer, UNSUBSCRIBE_URL_VARIABLE } from '../templates/renderer.js';
import { type Condition, type ConditionInput, parseCondition } from './condition.js';
import { type EventMatch, parseEventMatch } from './match.js';
import {
  type Campaign,
  type CampaignStep,
  type CampaignTrigger,
  type EmailTemplateSource,
  EXIT_REASONS,
  STEP_KINDS,
  type StepKind,
} from './types.js';

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

/** A condition as written (string or object), parsed into a {@link Condition} with issues at their paths. */
const conditionSchema = z.custom<ConditionInput>().transform((input, context): Condition => {
  const result = parseCondition(input);
  if (result.ok) return result.condition;
  for (const issue of result.issues)
    context.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
  return z.NEVER;
});

/** An event filter as written: a condition, or a map of field paths to the values they must equal. */
const matchSchema = z.custom<EventMatch>().transform((input, context): Condition => {
  const result = parseEventMatch(input);
  if (result.ok) return result.condition;
  for (const issue of result.issues)
    context.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
  return z.NEVER;
});

/** A duration as written: `2d`, `30m`, `PT4H` or `{ hours: 4 }`. */
const durationSchema = z
  .union(
    [
      z.string(),
      z
        .object({
          weeks: z.number().optional(),
          days: z.number().optional(),
          hours: z.number().optional(),
          minutes: z.number().optional(),
          seconds: z.number().optional(),
        })
        .strict(),
    ],
    {
      error: (issue) =>
        issue.input === undefined ? 'required' : 'expected a duration such as "2d", "30m" or "PT4H"',
    },
  )
  .superRefine((value, context) => {
    try {
      parseDuration(value);
    } catch (error) {
      const reason = LeadpipeError.isInstance(error)
        ? (error as { issues?: { reason: string }[] }).issues?.[0]?.reason
        : undefined;
      context.addIssue({ code: 'custom', message: reason ?? 'expected a duration such as "2d" or "30m"' });
    }
  });

const timeZoneSchema = z
  .string({ error: 'expected an IANA time zone such as "Europe/Berlin"' })
  .refine(isValidTimeZone, {
    error: (issue) => `${JSON.stringify(issue.input)} is not a known IANA time zone`,
  });

const positiveInteger = z
  .number({ error: 'expected a positive integer' })
  .int({ error: 'expected a positive integer' })
  .positive({ error: 'expected a positive integer' });

const idSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/,
    'expected letters, digits, "-" or "_" (at most 100), starting with a letter or digit',
  );

const eventNameSchema = z
  .string()
  .regex(/^[A-Za-z][\w-]*(\.[\w-]+)*$/, 'expected an event name such as "lead.created" or "app.demo_booked"');

const instantSchema = z.iso.datetime({
  offset: true,
  error: 'expected an ISO 8601 date-time with an offset, such as 2026-12-01T09:00:00Z',
});

const httpsUrl = z.url({ protocol: /^https$/, error: 'expected an https URL' });

/** An https URL, or http on localhost for tests against local emulators. */
const webhookUrl = z.url({ error: 'expected a URL' }).refine(
  (value) => {
    const url = new URL(value);
    return (
      url.protocol === 'https:' ||
      (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname))
    );
  },
  { error: 'expected an https URL (http only on localhost)' },
);

const weekdaySchema = z.enum(WEEKDAYS as [Weekday, ...Weekday[]], {
  error: `expected one of ${WEEKDAYS.join(', ')}`,
});

const clockSchema = z.string().refine(isClockTime, { error: 'expected a time HH:mm such as 09:00' });

const sendingWindowSchema = z
  .object({
    days: z
      .array(weekdaySchema)
      .min(1, 'expected at least one day')
      .default(['mon', 'tue', 'wed', 'thu', 'fri']),
    start: clockSchema,
    end: clockSchema,
  })
  .strict()
  .superRefine((window, context) => {
    if (isClockTime(window.start) && isClockTime(window.end) && window.end <= window.start) {
      context.addIssue({ code: 'custom', message: `must be after start (${window.start})`, path: ['end'] });
    }
  });

/** An inline email template. */
const emailTemplateSchema = z
  .object({
    subject: z.string().min(1, 'must not be empty'),
    html: z.string().min(1, 'must not be empty'),
    text: z.string().min(1, 'must not be empty').optional(),
  })
  .strict();

const templateRefSchema = z.union([z.string().min(1, 'must name a template'), emailTemplateSchema], {
  error: 'expected a template name or { subject, html, text? }',
});

// ---------------------------------------------------------------------------------------------------------------
// Steps

const emailStepSchema = z
  .object({
    template: templateRefSchema.optional(),
    variants: z
      .array(
        z
          .object({
            id: idSchema,
            weight: z.number({ error: 'expected a positive number' }).positive('expected a positive number'),
            template: templateRefSchema,
          })
          .strict(),
      )
      .min(2, 'expected at least two variants')
      .max(26, 'expected at most 26 variants')
      .optional(),
    mailbox: idSchema.optional(),
    /** Transactional mail skips the List-Unsubscribe headers and body link check. Default: marketing. */
    transactional: z.boolean().default(false),
  })
  .strict()
  .superRefine((email, context) => {
    if ((email.template === undefined) === (email.variants === undefined)) {
      context.addIssue({ code: 'custom', message: 'expected either template or variants' });
    }
    const ids = new Set<string>();
    for (const [index, variant] of (email.variants ?? []).entries()) {
      if (ids.has(variant.id))
        context.addIssue({
          code: 'custom',
          message: `duplicate variant id "${variant.id}"`,
          path: ['variants', index, 'id'],
        });
      ids.add(variant.id);
    }
  });

const webhookStepSchema = z
  .object({
    url: webhookUrl,
    secretRef: z
      .string()
      .regex(
        /^[A-Za-z][\w.:/-]{0,199}$/,
        'expected the name of a secret (such as WEBHOOK_SECRET), never the secret itself',
      ),
    timeout: durationSchema.default('10s').superRefine((value, context) => {
      try {
        const parsed = parseDuration(value);
        if (parsed.days > 0 || parsed.milliseconds > 300_000)
          context.addIssue({ code: 'custom', message: 'must be at most 5 minutes' });
      } catch {
        // reported by durationSchema
      }
    }),
  })
  .strict();

const updateLeadStepSchema = z
  .object({
    set: z
      .record(z.string().regex(/^[A-Za-z_][\w.]*$/, 'expected a lead field path'), z.unknown())
      .refine((set) => Object.keys(set).length > 0, {
        error: 'expected at least one field',
      }),
  })
  .strict();

const updateCrmStepSchema = z
  .object({
    crm: idSchema.optional(),
    properties: z
      .record(z.string().min(1), z.unknown())
      .refine((properties) => Object.keys(properties).length > 0, {
        error: 'expected at least one property',
      }),
  })
  .strict();

const waitStepSchema = z
  .object({
    duration: durationSchema.optional(),
    businessDays: positiveInteger.optional(),
    until: z
      .string()
      .refine(
        (value) => /^([01]\d|2[0-3]):[0-5]\d$/.test(value) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value),
        {
          error: 'expected HH:mm or an ISO 8601 date-time',
        },
      )
      .optional(),
  })
  .strict()
  .superRefine((wait, context) => {
    const given = [wait.duration, wait.businessDays, wait.until].filter(
      (value) => value !== undefined,
    ).length;
    if (given !== 1)
      context.addIssue({
        code: 'custom',
        message: 'expected exactly one of duration, businessDays or until',
      });
  });

const waitForEventStepSchema = z
  .object({
    event: eventNameSchema,
    match: matchSchema.optional(),
    timeout: durationSchema,
    onTimeout: z.enum(['continue', 'exit']).default('continue'),
  })
  .strict();

const exitStepSchema = z.union(
  [
    z.literal(true).transform(() => ({})),
    z.object({ reason: z.string().min(1).max(200).optional() }).strict(),
  ],
  { error: 'expected true or { reason }' },
);

type StepInputBase = { id?: string; name?: string };

/**
 * A step as written: an object with an optional `id` and `name` and exactly one of the kind keys, such as
 * `{ wait: { businessDays: 2 } }` or `{ email: { template: 'intro' } }`.
 */
export type CampaignStepInput = StepInputBase & {
  email?: z.input<typeof emailStepSchema>;
  webhook?: z.input<typeof webhookStepSchema>;
  updateLead?: z.input<typeof updateLeadStepSchema>;
  updateCrm?: z.input<typeof updateCrmStepSchema>;
  wait?: z.input<typeof waitStepSchema>;
  waitForEvent?: z.input<typeof waitForEventStepSchema>;
  branch?: { if: ConditionInput; then: CampaignStepInput[]; else?: CampaignStepInput[] };
  exit?: true | { reason?: string };
};

const stepSchema: z.ZodType<CampaignStep, CampaignStepInput> = z.lazy(() =>
  z
    .object({
      id: idSchema.optional(),
      name: z.string().min(1).max(200).optional(),
      email: emailStepSchema.optional(),
      webhook: webhookStepSchema.optional(),
      updateLead: updateLeadStepSchema.optional(),
      updateCrm: updateCrmStepSchema.optional(),
      wait: waitStepSchema.optional(),
      waitForEvent: waitForEventStepSchema.optional(),
      branch: z
        .object({
          if: conditionSchema,
          // biome-ignore lint/suspicious/noThenProperty: a branch is written { if, then, else }; it is data, never awaited.
          then: z.array(stepSchema),
          else: z.array(stepSchema).default([]),
        })
        .strict()
        .optional(),
      exit: exitStepSchema.optional(),
    })
    .strict()
    .transform((step, context) => {
      const kinds = STEP_KINDS.filter((kind) => step[kind] !== undefined);
      if (kinds.length !== 1) {
        context.addIssue({
          code: 'custom',
          message:
            kinds.length === 0
              ? `expected one of ${STEP_KINDS.join(', ')}`
              : `expected one step kind, got ${kinds.join(' and ')}`,
        });
        return z.NEVER;
      }
      const kind = kinds[0] as StepKind;
      return {
        // The id is filled in by the campaign schema, which knows the step's position.
        id: step.id ?? '',
        ...(step.name === undefined ? {} : { name: step.name }),
        kind,
        [kind]: step[kind],
      } as CampaignStep;
    }),
);

// ---------------------------------------------------------------------------------------------------------------
// Trigger, exit rules, sender

const triggerSchema = z
  .object({
    time: z
      .object({
        cron: z
          .string()
          .superRefine((cron, context) => {
            try {
              assertCron(cron);
            } catch (error) {
              context.addIssue({
                code: 'custom',
                message: (error as { issues?: { reason: string }[] }).issues?.[0]?.reason ?? 'invalid cron',
              });
            }
          })
          .optional(),
        timeZone: timeZoneSchema.optional(),
        at: instantSchema.optional(),
      })
      .strict()
      .superRefine((time, context) => {
        if ((time.cron === undefined) === (time.at === undefined)) {
          context.addIssue({
            code: 'custom',
            message: 'expected either cron (with an optional timeZone) or at',
          });
        } else if (time.at !== undefined && time.timeZone !== undefined) {
          context.addIssue({
            code: 'custom',
            message: 'timeZone applies to cron only (at carries its offset)',
            path: ['timeZone'],
          });
        }
      })
      .optional(),
    event: z.object({ name: eventNameSchema, match: matchSchema.optional() }).strict().optional(),
    condition: z
      .object({
        when: conditionSchema,
        events: z.array(eventNameSchema).min(1).default(['lead.updated', 'lead.enriched']),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((trigger, context) => {
    const kinds = (['time', 'event', 'condition'] as const).filter((kind) => trigger[kind] !== undefined);
    if (kinds.length !== 1)
      context.addIssue({ code: 'custom', message: 'expected exactly one of time, event or condition' });
  });

const exitRuleSchema = z.union(
  [z.enum(EXIT_REASONS), z.object({ event: eventNameSchema, match: matchSchema.optional() }).strict()],
  { error: `expected one of ${EXIT_REASONS.join(', ')}, or { event, match }` },
);

const addressSchema = z.email({ error: 'expected an email address' });

const senderSchema = z
  .object({
    from: z.union(
      [
        addressSchema,
        z.object({ email: addressSchema, name: z.string().min(1).max(200).optional() }).strict(),
      ],
      { error: 'expected an email address or { email, name }' },
    ),
    replyTo: addressSchema.optional(),
    postalAddress: z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? 'required: CAN-SPAM requires a valid physical postal address in every commercial email'
            : 'expected a postal address',
      })
      .trim()
      .min(10, 'expected a full postal address (street, city, postal code, country)'),
    unsubscribeBaseUrl: httpsUrl,
  })
  .strict();

const mailboxSchema = z
  .object({
    from: addressSchema,
    name: z.string().min(1).max(200).optional(),
    dailyCap: positiveInteger.optional(),
    minGap: durationSchema.optional(),
  })
  .strict();

const capsSchema = z
  .object({
    dailyPerMailbox: positiveInteger.optional(),
    minGap: durationSchema.optional(),
  })
  .strict();

// ---------------------------------------------------------------------------------------------------------------
// The campaign

const templateCheck = createTemplateRenderer({ unsubscribe: 'none', maxCached: 200 });

function walkSteps(
  steps: readonly CampaignStep[],
  path: (string | number)[],
  visit: (step: CampaignStep, path: (string | number)[], positional: string) => void,
  prefix = 'step',
): void {
  for (const [index, step] of steps.entries()) {
    const positional = `${prefix}-${index + 1}`;
    visit(step, [...path, index], positional);
    if (step.kind === 'branch') {
      walkSteps(step.branch.then, [...path, index, 'branch', 'then'], visit, `${positional}-then`);
      walkSteps(step.branch.else, [...path, index, 'branch', 'else'], visit, `${positional}-else`);
    }
  }
}

/**
 * The campaign definition schema: parses a campaign as written ({@link CampaignInput}) into a {@link Campaign},
 * filling defaults (step ids, sending window, exit rules) and checking cross-references (templates and mailboxes
 * named by steps exist; step ids are unique; template syntax and filters).
 */
export const campaignSchema = z
  .object({
    id: idSchema,
    name: z.string().min(1).max(200).optional(),
    /** The campaign's zone: for cron triggers without their own, and for recipients whose zone is unknown. */
    timeZone: timeZoneSchema,
    /** Where a recipient's zone comes from: the lead's location (default), or always the campaign's zone. */
    recipientTimeZone: z.enum(['lead', 'campaign']).default('lead'),
    trigger: triggerSchema,
    /** Who may enroll; absent: every lead. */
    audience: conditionSchema.optional(),
    steps: z.array(stepSchema).min(1, 'expected at least one step').max(100, 'expected at most 100 steps'),
    exitOn: z.array(exitRuleSchema).default([...EXIT_REASONS]),
    sender: senderSchema,
    mailboxes: z.record(idSchema, mailboxSchema).optional(),
    templates: z.record(idSchema, emailTemplateSchema).default({}),
    sendingWindow: z
      .union([sendingWindowSchema, z.array(sendingWindowSchema).min(1, 'expected at least one window')])
      .default({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }),
    holidays: z
      .array(z.string().refine(isCalendarDate, { error: 'expected a date YYYY-MM-DD' }))
      .max(1000)
      .default([]),
    caps: capsSchema.default({}),
  })
  .strict()
  .transform((campaign, context): Campaign => {
    const ids = new Map<string, string>();
    const steps = campaign.steps;
    const withIds = (list: readonly CampaignStep[], prefix: string): CampaignStep[] =>
      list.map((step, index) => {
        const positional = `${prefix}-${index + 1}`;
        const id = step.id === '' ? positional : step.id;
        if (step.kind === 'branch') {
          return {
            ...step,
            id,
            branch: {
              ...step.branch,
              // biome-ignore lint/suspicious/noThenProperty: a branch is written { if, then, else }; it is data, never awaited.
              then: withIds(step.branch.then, `${positional}-then`),
              else: withIds(step.branch.else, `${positional}-else`),
            },
          };
        }
        return { ...step, id };
      });
    const identified = withIds(steps, 'step');
    const checkedNames = new Set<string>();
    const templateAt = (
      reference: string | EmailTemplateSource,
      path: (string | number)[],
      marketing: boolean,
    ) => {
      if (typeof reference === 'string') {
        const named = Object.hasOwn(campaign.templates, reference)
          ? campaign.templates[reference]
          : undefined;
        if (named === undefined) {
          context.addIssue({ code: 'custom', message: `no template "${reference}" in templates`, path });
        } else if (marketing && !checkedNames.has(reference)) {
          checkedNames.add(reference);
          checkUnsubscribe(named, ['templates', reference]);
        }
        return;
      }
      checkTemplate(reference, path);
      if (marketing) checkUnsubscribe(reference, path);
    };
    // Marketing mail must carry the unsubscribe link in its body: catch a template without it now, not per send.
    const checkUnsubscribe = (template: EmailTemplateSource, path: (string | number)[]) => {
      const mentions = (source: string) => new RegExp(`{{-?\\s*${UNSUBSCRIBE_URL_VARIABLE}\\b`).test(source);
      if (!mentions(template.html)) {
        context.addIssue({
          code: 'custom',
          message: `marketing email needs the unsubscribe link: add <a href="{{ ${UNSUBSCRIBE_URL_VARIABLE} }}">…</a> (or mark the step transactional)`,
          path: [...path, 'html'],
        });
      }
      if (template.text !== undefined && !mentions(template.text)) {
        context.addIssue({
          code: 'custom',
          message: `marketing email needs the unsubscribe link: add {{ ${UNSUBSCRIBE_URL_VARIABLE} }}`,
          path: [...path, 'text'],
        });
      }
    };
    const checkTemplate = (template: EmailTemplateSource, path: (string | number)[]) => {
      try {
        templateCheck.compile(template);
      } catch (error) {
        const part = (error as { part?: string }).part;
        const description = (error as { issues?: { reason: string }[] }).issues?.[0]?.reason ?? String(error);
        context.addIssue({
          code: 'custom',
          message: description,
          path: part === undefined ? path : [...path, part],
        });
      }
    };
    for (const [name, template] of Object.entries(campaign.templates))
      checkTemplate(template, ['templates', name]);
    walkSteps(identified, ['steps'], (step, path) => {
      const previous = ids.get(step.id);
      if (previous !== undefined) {
        context.addIssue({
          code: 'custom',
          message: `duplicate step id "${step.id}" (also ${previous})`,
          path: [...path, 'id'],
        });
      }
      ids.set(step.id, formatPath(path));
      if (step.kind !== 'email') return;
      const email = step.email;
      if (email.template !== undefined)
        templateAt(email.template, [...path, 'email', 'template'], !email.transactional);
      for (const [index, variant] of (email.variants ?? []).entries()) {
        templateAt(variant.template, [...path, 'email', 'variants', index, 'template'], !email.transactional);
      }
      if (email.mailbox !== undefined && !Object.hasOwn(campaign.mailboxes ?? {}, email.mailbox)) {
        context.addIssue({
          code: 'custom',
          message: `no mailbox "${email.mailbox}" in mailboxes`,
          path: [...path, 'email', 'mailbox'],
        });
      }
    });
    const trigger = campaign.trigger;
    const normalizedTrigger: CampaignTrigger =
      trigger.time !== undefined
        ? trigger.time.cron !== undefined
          ? {
              kind: 'time',
              time: { cron: trigger.time.cron, timeZone: trigger.time.timeZone ?? campaign.timeZone },
            }
          : { kind: 'time', time: { at: trigger.time.at as string } }
        : trigger.event !== undefined
          ? { kind: 'event', event: trigger.event }
          : { kind: 'condition', condition: trigger.condition as { when: Condition; events: string[] } };
    const { sendingWindow, ...rest } = campaign;
    return {
      ...rest,
      trigger: normalizedTrigger,
      steps: identified,
      sendingWindows: Array.isArray(sendingWindow) ? sendingWindow : [sendingWindow],
    };
  });

/** A campaign as written, in TypeScript, JSON or YAML (before defaults). */
export type CampaignInput = z.input<typeof campaignSchema>;

/**
 * A zod issue path as written in messages: `steps[2].wait.businessDays`.
 *
 * @param path - the path segments.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? 'campaign' : text;
}
