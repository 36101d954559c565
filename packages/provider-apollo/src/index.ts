/**
 * @packageDocumentation
 * `@leadpipe/provider-apollo`: the Apollo.io enrichment provider for
 * leadpipe. People by email, LinkedIn URL or name at a domain; companies by
 * domain; bulk calls of up to 10; plan limits corrected from Apollo's
 * headers; optional phone reveal through a webhook, with polling as the
 * fallback.
 */
export {
  APOLLO_BULK_DIVISOR,
  type ApolloPlanLimits,
  apolloRateLimitHeaders,
  apolloRateLimitPolicy,
  DEFAULT_APOLLO_PLAN_LIMITS,
  mapApolloError,
  toBulkUnits,
} from './apollo-limits.js';
export {
  APOLLO_DEPARTMENTS,
  APOLLO_FIELD_CONFIDENCE,
  APOLLO_MATCH_CONFIDENCE,
  type ApolloMatchKey,
  departmentName,
  emailConfidence,
  type MappedFields,
  mapOrganization,
  mapPerson,
} from './apollo-mapping.js';
export {
  APOLLO_BASE_URL,
  APOLLO_MAX_BATCH_SIZE,
  type ApolloCredits,
  type ApolloProvider,
  type ApolloProviderSettings,
  apollo,
  createApollo,
} from './apollo-provider.js';
export {
  type ApolloPollSettings,
  type ApolloRevealSettings,
  WEBHOOK_TOKEN_PARAMETER,
} from './apollo-reveal.js';
export {
  type ApolloOrganization,
  type ApolloPerson,
  apolloOrganizationSchema,
  apolloPersonSchema,
  parseApolloJson,
} from './apollo-schemas.js';
export { apolloDescriptor } from './descriptor.js';
