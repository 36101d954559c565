import type { HubspotObjectType } from './types.js';

/** Hex string of `length` characters drawn from `random`. */
export function randomHex(random: () => number, length: number): string {
  let out = '';
  for (let index = 0; index < length; index += 1) out += Math.floor(random() * 16).toString(16);
  return out;
}

/** A version-4-shaped UUID drawn from `random` (deterministic under a seed). */
export function randomUuid(random: () => number): string {
  const hex = randomHex(random, 32);
  const variant = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Path segments HubSpot accepts for each object type. */
const OBJECT_TYPE_ALIASES: Readonly<Record<string, HubspotObjectType>> = {
  contacts: 'contacts',
  contact: 'contacts',
  '0-1': 'contacts',
  companies: 'companies',
  company: 'companies',
  '0-2': 'companies',
};

/** The object type a path segment names (`contacts`, `contact`, `0-1`, ...), if any. */
export function parseObjectType(segment: string | undefined): HubspotObjectType | undefined {
  return segment === undefined ? undefined : OBJECT_TYPE_ALIASES[segment.toLowerCase()];
}

/** HubSpot's object type id: `0-1` for contacts, `0-2` for companies. */
export function objectTypeId(objectType: HubspotObjectType): string {
  return objectType === 'contacts' ? '0-1' : '0-2';
}

/** Upper-case singular name used in HubSpot messages (`CONTACT`, `COMPANY`). */
export function objectTypeLabel(objectType: HubspotObjectType): string {
  return objectType === 'contacts' ? 'CONTACT' : 'COMPANY';
}

/** ISO 8601 text of an epoch-ms time. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Whether `value` looks like an email address HubSpot would accept. */
export function isValidEmail(value: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
}
