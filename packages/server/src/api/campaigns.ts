import { createRoute, z } from '@hono/zod-openapi';
import type { CampaignEngine } from '@leadpipe/campaigns';
import type { GuardContext } from '../guard.js';
import { guard } from '../guard.js';
import { problem, problemResponse } from '../problem.js';
import type { ApiApp } from './app.js';
import { GUARDED_ERRORS, json, NOT_CONFIGURED, NOT_FOUND, SECURITY } from './schemas.js';

/** What the server uses of a campaign engine: the unsubscribe endpoint and the counts. */
export type ServerCampaignEngine = Pick<CampaignEngine, 'handleUnsubscribe' | 'stats'>;

/** The campaigns a server shows and unsubscribes from. */
export interface ServerCampaigns {
  /** The engine (`createCampaignEngine` of @leadpipe/campaigns). */
  readonly engine: ServerCampaignEngine;
  /** The campaign ids to list (the engine's campaigns). */
  readonly ids: readonly string[];
}

const StatsSchema = z
  .object({
    enrolled: z.number(),
    byStatus: z.record(z.string(), z.number()),
    exitedByReason: z.record(z.string(), z.number()),
    steps: z.record(z.string(), z.record(z.string(), z.number())),
  })
  .openapi('CampaignStats');

const CampaignSchema = z.object({ id: z.string(), stats: StatsSchema }).openapi('Campaign');

const notConfigured = () =>
  problemResponse(
    problem(501, 'not-configured', 'this server was started without campaigns (option campaigns)'),
  );

const plain = (stats: unknown) => JSON.parse(JSON.stringify(stats)) as z.infer<typeof StatsSchema>;

/** `/v1/campaigns`: list with stats, and one campaign's stats (read). */
export function mountCampaignRoutes(
  app: ApiApp,
  campaigns: ServerCampaigns | undefined,
  context: GuardContext,
): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/campaigns',
      summary: 'Campaigns with their funnel counts',
      tags: ['campaigns'],
      security: SECURITY,
      middleware: [guard(context, 'read')],
      responses: {
        200: json(z.object({ campaigns: z.array(CampaignSchema) }), 'The campaigns'),
        ...GUARDED_ERRORS,
        ...NOT_CONFIGURED,
      },
    }),
    async (c) => {
      if (campaigns === undefined) return notConfigured() as never;
      const list = await Promise.all(
        campaigns.ids.map(async (id) => ({ id, stats: plain(await campaigns.engine.stats(id)) })),
      );
      return c.json({ campaigns: list }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/campaigns/{id}',
      summary: "One campaign's funnel counts",
      tags: ['campaigns'],
      security: SECURITY,
      middleware: [guard(context, 'read')],
      request: { params: z.object({ id: z.string().min(1).max(200) }) },
      responses: {
        200: json(CampaignSchema, 'The campaign'),
        ...GUARDED_ERRORS,
        ...NOT_FOUND,
        ...NOT_CONFIGURED,
      },
    }),
    async (c) => {
      if (campaigns === undefined) return notConfigured() as never;
      const { id } = c.req.valid('param');
      if (!campaigns.ids.includes(id))
        return problemResponse(problem(404, 'not-found', `no campaign "${id}"`)) as never;
      return c.json({ id, stats: plain(await campaigns.engine.stats(id)) }, 200);
    },
  );
}
