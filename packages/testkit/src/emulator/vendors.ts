import { apolloEmulatorDefinition } from '../vendors/apollo/definition.js';
import { clearbitEmulatorDefinition } from '../vendors/clearbit/definition.js';
import { hubspotEmulatorDefinition } from '../vendors/hubspot/definition.js';
import { mailgunEmulatorDefinition } from '../vendors/mailgun/definition.js';
import { salesforceEmulatorDefinition } from '../vendors/salesforce/definition.js';
import { sendgridEmulatorDefinition } from '../vendors/sendgrid/definition.js';
import { zoominfoEmulatorDefinition } from '../vendors/zoominfo/definition.js';

/**
 * Every emulated vendor, in a stable order (CRMs first). Registering a vendor
 * is one line here; the registry, the server, the msw handlers, the contract
 * backends and the `leadpipe-emulator` command read this list.
 */
export const EMULATOR_DEFINITIONS = [
  hubspotEmulatorDefinition,
  salesforceEmulatorDefinition,
  apolloEmulatorDefinition,
  clearbitEmulatorDefinition,
  zoominfoEmulatorDefinition,
  sendgridEmulatorDefinition,
  mailgunEmulatorDefinition,
] as const;

/** A registered vendor's definition. */
export type RegisteredEmulatorDefinition = (typeof EMULATOR_DEFINITIONS)[number];

/** The definition of vendor `V`. */
export type DefinitionOf<V extends RegisteredEmulatorDefinition['id']> = Extract<
  RegisteredEmulatorDefinition,
  { readonly id: V }
>;

/** The definition of `vendor`, or `undefined` for a name no vendor has. */
export function definitionOf<V extends RegisteredEmulatorDefinition['id']>(vendor: V): DefinitionOf<V>;
export function definitionOf(vendor: string): RegisteredEmulatorDefinition | undefined;
export function definitionOf(vendor: string): RegisteredEmulatorDefinition | undefined {
  return EMULATOR_DEFINITIONS.find((definition) => definition.id === vendor);
}
