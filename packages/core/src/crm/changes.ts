import type { CrmAdapterV1, CrmChangesPage, CrmListChangesRequest } from '../contracts/crm-adapter.js';
import { ApiCallError, ConfigurationError } from '../contracts/errors.js';
import { type ProviderLimiter, withRetry } from '../limits/index.js';
import { parseChangesPage } from './adapter-output.js';
import type { ResolvedTarget } from './options.js';
import type { CrmBackoff } from './retry-policy.js';

/** What {@link listCrmChanges} depends on. */
export interface ListCrmChangesContext {
  /** The configured CRMs. */
  readonly targets: readonly ResolvedTarget[];
  /** The limiter of one CRM. */
  readonly limiterOf: (target: ResolvedTarget) => ProviderLimiter;
  /** Backoff of each page's call. */
  readonly backoff: CrmBackoff;
}

type ListChanges = NonNullable<CrmAdapterV1['doListChanges']>;

function findTarget(
  ctx: ListCrmChangesContext,
  adapterId: string,
  object: unknown,
): { readonly target: ResolvedTarget; readonly listChanges: ListChanges } {
  const target = ctx.targets.find(
    (candidate) => candidate.adapter.adapterId === adapterId && candidate.mapping.object === object,
  );
  if (!target) {
    throw new ConfigurationError('invalid_configuration', {
      message: `listChanges: no configured CRM is ${adapterId} / ${String(object)}`,
      issues: [{ field: 'adapterId', reason: `no configured CRM is ${adapterId} / ${String(object)}` }],
      providerId: adapterId,
    });
  }
  const listChanges = target.adapter.doListChanges;
  if (!listChanges) {
    throw new ConfigurationError('invalid_configuration', {
      message: `listChanges: CRM adapter "${adapterId}" cannot list changes (no doListChanges)`,
      issues: [
        { field: 'adapterId', reason: `CRM adapter "${adapterId}" cannot list changes (no doListChanges)` },
      ],
      providerId: adapterId,
    });
  }
  return { target, listChanges };
}

async function fetchPage(
  adapter: CrmAdapterV1,
  listChanges: ListChanges,
  limiter: ProviderLimiter,
  request: CrmListChangesRequest,
  backoff: CrmBackoff,
  signal: AbortSignal | undefined,
): Promise<CrmChangesPage> {
  return withRetry(
    async () => {
      const raw = await limiter.schedule(
        () =>
          Promise.resolve(
            listChanges.call(adapter, request, { signal, onRateLimit: (state) => limiter.update(state) }),
          ),
        { signal },
      );
      return parseChangesPage(adapter.adapterId, raw);
    },
    { ...backoff, signal },
  );
}

/**
 * Page through the records changed in one configured CRM since a cursor,
 * through its limiter and retries, until the CRM has no more. Rejects with a
 * `ConfigurationError` when no configured CRM matches, or the adapter cannot
 * list changes; with `invalid_response` when a page says there is more but
 * does not advance the cursor.
 */
export async function* listCrmChanges(
  ctx: ListCrmChangesContext,
  adapterId: string,
  request: CrmListChangesRequest,
  signal: AbortSignal | undefined,
): AsyncGenerator<CrmChangesPage, void, undefined> {
  const { target, listChanges } = findTarget(ctx, adapterId, request?.object);
  const limiter = ctx.limiterOf(target);
  let cursor = request.cursor;
  for (;;) {
    const pageRequest: CrmListChangesRequest = { ...request, ...(cursor === undefined ? {} : { cursor }) };
    const page = await fetchPage(target.adapter, listChanges, limiter, pageRequest, ctx.backoff, signal);
    yield page;
    if (!page.hasMore) return;
    if (page.nextCursor === cursor) {
      throw new ApiCallError('invalid_response', {
        message: `${adapterId}: doListChanges said there is more but returned the same cursor`,
        providerId: adapterId,
        isRetryable: false,
      });
    }
    cursor = page.nextCursor;
  }
}
