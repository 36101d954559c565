import type { CampaignJsonValue } from '@leadpipe/core';
import {
  type Condition,
  type ConditionInput,
  type ConditionValue,
  evaluateCondition,
  type ParsedCondition,
  parseCondition,
} from './condition.js';

/**
 * A filter on an event's data, for event triggers, exit rules and
 * wait-for-event steps: a condition (`properties.crm = hubspot`, or the
 * object form with `all` / `any`), or a map of field paths to the values they
 * must equal (`{ 'properties.crm': 'hubspot' }`). Paths read the event's data
 * (the payload a host app or the bus carried) at the root or under `data.`
 * (`properties.crm` and `data.properties.crm` are the same field), and `type`.
 */
export type EventMatch = ConditionInput | Readonly<Record<string, ConditionValue>>;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether an object is written in the condition form (`field` + `op`, `all`, `any`) rather than as an equality map. */
const isConditionObject = (value: Record<string, unknown>): boolean =>
  ('field' in value && 'op' in value) || 'all' in value || 'any' in value;

/**
 * Reads an {@link EventMatch}: a condition as `parseCondition` reads it, or
 * an equality map (each key a field path, each value a string, number,
 * boolean or null) turned into `all` of `=` comparisons. Issues carry the
 * path inside the match (the key of a bad map entry).
 *
 * @param input - the match as written.
 */
export function parseEventMatch(input: unknown): ParsedCondition {
  if (typeof input === 'string' || !isRecord(input) || isConditionObject(input)) return parseCondition(input);
  const entries = Object.entries(input);
  if (entries.length === 0)
    return { ok: false, issues: [{ path: [], message: 'expected at least one field' }] };
  const all: ConditionInput[] = [];
  const issues: { path: (string | number)[]; message: string }[] = [];
  for (const [field, value] of entries) {
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
      issues.push({ path: [field], message: 'expected a string, number, boolean or null to compare with' });
      continue;
    }
    all.push({ field, op: '=', value: value as ConditionValue });
  }
  if (issues.length > 0) return { ok: false, issues };
  const parsed = parseCondition({ all });
  // Issues of `all[i]` belong to the map's key i.
  return parsed.ok
    ? parsed
    : {
        ok: false,
        issues: parsed.issues.map((issue) => ({
          ...issue,
          path: [(entries[Number(issue.path[1])] as [string, unknown])[0]],
        })),
      };
}

const compiledObjects = new WeakMap<object, Condition | undefined>();
const compiledStrings = new Map<string, Condition | undefined>();

/** A match parsed once (campaign definitions live as long as the engine). */
function compiled(match: EventMatch): Condition | undefined {
  const cache = typeof match === 'string' ? compiledStrings : undefined;
  const known = typeof match === 'string' ? cache?.get(match) : compiledObjects.get(match);
  if (known !== undefined) return known;
  const parsed = parseEventMatch(match);
  const condition = parsed.ok ? parsed.condition : undefined;
  if (typeof match === 'string') {
    if (compiledStrings.size < 1000) compiledStrings.set(match, condition);
  } else compiledObjects.set(match, condition);
  return condition;
}

/** What an event match reads: the event's data at the root and under `data`, with its `type`. */
function eventMatchSubject(
  type: string,
  data: Readonly<Record<string, CampaignJsonValue>> | undefined,
): object {
  return { data: data ?? {}, ...(data ?? {}), type };
}

/**
 * Whether an event passes a match (no match: every event does). The match must be valid: the engine checks
 * campaigns at creation.
 *
 * @param match - the filter.
 * @param type - the event type.
 * @param data - the event's data.
 */
export function eventMatches(
  match: EventMatch | undefined,
  type: string,
  data: Readonly<Record<string, CampaignJsonValue>> | undefined,
): boolean {
  if (match === undefined) return true;
  const condition = compiled(match);
  return condition !== undefined && evaluateCondition(condition, { current: eventMatchSubject(type, data) });
}
