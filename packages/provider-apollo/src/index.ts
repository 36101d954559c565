/**
 * @packageDocumentation
 * `@leadpipe/provider-apollo`: the Apollo.io enrichment provider for
 * leadpipe. People by email, LinkedIn URL or name at a domain; companies by
 * domain; bulk calls of up to 10; plan limits corrected from Apollo's
 * headers; optional phone reveal through a webhook, with polling as the
 * fallback.
 */
export type { ApolloPlanLimits } from './apollo-limits.js';
export {
  type ApolloCredits,
  type ApolloProvider,
  type ApolloProviderSettings,
  apollo,
  createApollo,
} from './apollo-provider.js';
export type { ApolloPollSettings, ApolloRevealSettings } from './apollo-reveal.js';
export { apolloDescriptor } from './descriptor.js';
