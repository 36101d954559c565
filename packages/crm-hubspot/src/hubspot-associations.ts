import {
  type CrmCallOptions,
  type CrmRecord,
  domainFromEmail,
  isFreeMailDomain,
  normalizeDomain,
} from '@leadpipe/core/adapter-kit';
import type { HubspotClient } from './hubspot-client.js';
import { searchResponseSchema } from './hubspot-schemas.js';

/** Contact-to-company association by the company's domain; see `HubspotSettings.associateCompanies`. */
export interface HubspotCompanyAssociationSettings {
  /**
   * The company domain of a record. Default: the domain of the key when
   * upserting contacts by `email`, unless it is a free-mail domain.
   */
  readonly domain?: (record: CrmRecord) => string | undefined;
}

/** A record written by an upsert, with HubSpot's id of it. */
export interface WrittenContact {
  /** The record as sent. */
  readonly record: CrmRecord;
  /** HubSpot's contact id. */
  readonly id: string;
}

/** A domain in core's normal form (`WWW.Acme.com.` is `acme.com`), or undefined when it is not a domain. */
function companyDomain(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  try {
    return normalizeDomain(value);
  } catch {
    return undefined;
  }
}

/** The company domain of a written contact: the settings' function, else the key's email domain unless free mail. */
export function contactCompanyDomain(
  record: CrmRecord,
  idProperty: string,
  domainOf: HubspotCompanyAssociationSettings['domain'],
): string | undefined {
  if (domainOf !== undefined) return companyDomain(domainOf(record));
  if (idProperty !== 'email') return undefined;
  let domain: string;
  try {
    domain = domainFromEmail(record.key);
  } catch {
    return undefined;
  }
  return isFreeMailDomain(domain) ? undefined : domain;
}

/**
 * Associate written contacts with the existing companies of their domains:
 * one search for every domain of the batch (the oldest company of a domain
 * wins, as HubSpot's own auto-association does) and one batch association
 * call. Companies are never created.
 */
export async function associateWithCompanies(
  client: HubspotClient,
  written: readonly WrittenContact[],
  idProperty: string,
  domainOf: HubspotCompanyAssociationSettings['domain'],
  callOptions: CrmCallOptions,
): Promise<void> {
  const byDomain = new Map<string, string[]>();
  for (const { record, id } of written) {
    const domain = contactCompanyDomain(record, idProperty, domainOf);
    if (domain === undefined) continue;
    byDomain.set(domain, [...(byDomain.get(domain) ?? []), id]);
  }
  if (byDomain.size === 0) return;
  const companyOf = new Map<string, string>();
  let after: string | undefined;
  do {
    const response = await client.call(
      {
        method: 'POST',
        path: '/crm/v3/objects/companies/search',
        json: {
          filterGroups: [
            { filters: [{ propertyName: 'domain', operator: 'IN', values: [...byDomain.keys()] }] },
          ],
          sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
          properties: ['domain'],
          limit: 200,
          ...(after === undefined ? {} : { after }),
        },
        schema: searchResponseSchema,
      },
      callOptions,
      'search',
    );
    for (const company of response.data.results) {
      const domain = companyDomain(company.properties?.domain);
      // The oldest company with the domain wins, as HubSpot's own auto-association does.
      if (domain !== undefined && !companyOf.has(domain)) companyOf.set(domain, company.id);
    }
    after = response.data.paging?.next?.after;
  } while (after !== undefined && companyOf.size < byDomain.size);
  const inputs = [...byDomain].flatMap(([domain, contactIds]) => {
    const companyId = companyOf.get(domain);
    return companyId === undefined ? [] : contactIds.map((id) => ({ from: { id }, to: { id: companyId } }));
  });
  if (inputs.length === 0) return;
  await client.call(
    {
      method: 'POST',
      path: '/crm/v4/associations/contacts/companies/batch/associate/default',
      json: { inputs },
      acceptStatus: [207],
    },
    callOptions,
  );
}
