import { createRoute, z } from '@hono/zod-openapi';
import type { GuardContext } from '../guard.js';
import { guard } from '../guard.js';
import { problem, problemResponse } from '../problem.js';
import type { ApiApp } from './app.js';
import { GUARDED_ERRORS, json, NOT_CONFIGURED, NOT_FOUND, SECURITY } from './schemas.js';

/** One pipeline run as the API shows it. */
export interface RunStatus {
  /** The run's id (a checkpoint name, a job id). */
  readonly id: string;
  /** Where it is. */
  readonly status: 'running' | 'done' | 'failed' | 'aborted';
  /** When it started (ISO 8601). */
  readonly startedAt: string;
  /** When it ended (ISO 8601), once it has. */
  readonly finishedAt?: string;
  /** Counts so far: rows read, enriched, rejected, dead-lettered, credits per provider... */
  readonly stats: Readonly<Record<string, number>>;
}

/**
 * Where the server reads runs from. The store keeps checkpoints, not a run
 * history, so the host says: {@link createRunRegistry} keeps the runs this
 * process reports, or implement it on your job table.
 */
export interface RunSource {
  /** Runs, newest first. */
  list(): Promise<readonly RunStatus[]>;
  /** One run, or undefined. */
  get(id: string): Promise<RunStatus | undefined>;
}

/** A {@link RunSource} in memory that the host reports runs to. */
export interface RunRegistry extends RunSource {
  /** Record (or replace) a run's status. */
  report(run: RunStatus): void;
}

/** A run registry in memory, keeping the newest `max` runs (default 1,000). */
export function createRunRegistry(max = 1000): RunRegistry {
  const runs = new Map<string, RunStatus>();
  return {
    report(run) {
      runs.delete(run.id);
      runs.set(run.id, { ...run, stats: { ...run.stats } });
      while (runs.size > max) runs.delete(runs.keys().next().value as string);
    },
    async list() {
      return [...runs.values()].reverse();
    },
    async get(id) {
      return runs.get(id);
    },
  };
}

const RunSchema = z
  .object({
    id: z.string(),
    status: z.enum(['running', 'done', 'failed', 'aborted']),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    stats: z.record(z.string(), z.number()),
  })
  .openapi('Run');

const notConfigured = () =>
  problemResponse(
    problem(501, 'not-configured', 'this server was started without a run source (option runs)'),
  );

/** `/v1/runs`: list and get (read). */
export function mountRunRoutes(app: ApiApp, runs: RunSource | undefined, context: GuardContext): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/runs',
      summary: 'Runs, newest first, with their status and counts',
      tags: ['runs'],
      security: SECURITY,
      middleware: [guard(context, 'read')],
      responses: {
        200: json(z.object({ runs: z.array(RunSchema) }), 'The runs'),
        ...GUARDED_ERRORS,
        ...NOT_CONFIGURED,
      },
    }),
    async (c) => {
      if (runs === undefined) return notConfigured() as never;
      return c.json({ runs: (await runs.list()).map((run) => ({ ...run, stats: { ...run.stats } })) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/runs/{id}',
      summary: 'One run',
      tags: ['runs'],
      security: SECURITY,
      middleware: [guard(context, 'read')],
      request: { params: z.object({ id: z.string().min(1).max(200) }) },
      responses: { 200: json(RunSchema, 'The run'), ...GUARDED_ERRORS, ...NOT_FOUND, ...NOT_CONFIGURED },
    }),
    async (c) => {
      if (runs === undefined) return notConfigured() as never;
      const { id } = c.req.valid('param');
      const run = await runs.get(id);
      if (run === undefined) return problemResponse(problem(404, 'not-found', `no run "${id}"`)) as never;
      return c.json({ ...run, stats: { ...run.stats } }, 200);
    },
  );
}
