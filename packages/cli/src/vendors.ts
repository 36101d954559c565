import {
  type CrmAdapterDescriptor,
  type EnrichmentProviderDescriptor,
  ValidationError,
  type ValidationIssue,
  type VendorDescriptor,
} from '@leadpipe/core';
import { hubspotDescriptor } from '@leadpipe/crm-hubspot';
import { salesforceDescriptor } from '@leadpipe/crm-salesforce';
import { apolloDescriptor } from '@leadpipe/provider-apollo';
import { clearbitDescriptor } from '@leadpipe/provider-clearbit';
import { zoominfoDescriptor } from '@leadpipe/provider-zoominfo';

/**
 * Every vendor the command knows: one line per vendor, enrichment providers
 * in default waterfall order. Flags, help, keys and `--emulate` are all read
 * from these descriptors; nothing else in the command names a vendor.
 */
export const VENDORS: readonly VendorDescriptor[] = [
  apolloDescriptor,
  clearbitDescriptor,
  zoominfoDescriptor,
  hubspotDescriptor,
  salesforceDescriptor,
];

/** The enrichment providers of {@link VENDORS}, in default waterfall order. */
const PROVIDER_VENDORS: readonly EnrichmentProviderDescriptor[] = VENDORS.filter(
  (vendor): vendor is EnrichmentProviderDescriptor => vendor.kind === 'enrichment',
);

/** The CRMs of {@link VENDORS}. */
const CRM_VENDORS: readonly CrmAdapterDescriptor[] = VENDORS.filter(
  (vendor): vendor is CrmAdapterDescriptor => vendor.kind === 'crm',
);

/** The ids of the enrichment providers the command knows, in default waterfall order. */
export const PROVIDER_NAMES: readonly string[] = PROVIDER_VENDORS.map((vendor) => vendor.id);

/** The ids of the CRMs the command can sync into. */
export const CRM_NAMES: readonly string[] = CRM_VENDORS.map((vendor) => vendor.id);

/** Why `name` is not a provider (`--providers`), listing the known ones. */
export function unknownProvider(name: string): ValidationIssue {
  return { field: '--providers', reason: `"${name}" is not a provider; use ${PROVIDER_NAMES.join(', ')}` };
}

/** Why `name` is not a CRM (`--crm`), listing the known ones. */
export function unknownCrm(name: string): ValidationIssue {
  return { field: '--crm', reason: `"${name}" is not a CRM; use ${CRM_NAMES.join(' or ')}` };
}

/**
 * The provider called `name`.
 *
 * @throws ValidationError naming `--providers` and the known providers when there is none.
 */
export function providerVendor(name: string): EnrichmentProviderDescriptor {
  const found = PROVIDER_VENDORS.find((vendor) => vendor.id === name);
  if (found === undefined) throw new ValidationError([unknownProvider(name)]);
  return found;
}

/**
 * The CRM called `name`.
 *
 * @throws ValidationError naming `--crm` and the known CRMs when there is none.
 */
export function crmVendor(name: string): CrmAdapterDescriptor {
  const found = CRM_VENDORS.find((vendor) => vendor.id === name);
  if (found === undefined) throw new ValidationError([unknownCrm(name)]);
  return found;
}
