import type { Context } from 'hono';
import { httpFailure } from './errors.js';
import { majorOf, methodNotAllowed, type RouteDeps, readJson, V } from './http.js';

/**
 * Register Bulk API 2.0 ingest: create and list jobs, upload CSV data, change
 * a job's state, read its successful, failed and unprocessed records as CSV,
 * and delete it.
 */
export function registerBulkRoutes(deps: RouteDeps): void {
  const { app, bulk, count } = deps;

  const J = `${V}/jobs/ingest`;
  app.post(J, async (c) => {
    count('requests.jobs.create');
    const job = bulk.create(await readJson(c), majorOf(c));
    const { numberRecordsProcessed: _p, numberRecordsFailed: _f, retries: _r, ...info } = bulk.info(job);
    const {
      totalProcessingTime: _t,
      apiActiveProcessingTime: _a,
      apexProcessingTime: _x,
      jobType: _j,
      ...created
    } = info;
    count('status.200');
    return c.json(created, 200);
  });
  app.get(J, (c) => {
    count('requests.jobs.list');
    return c.json({
      done: true,
      records: bulk.all().map((job) => bulk.info(job)),
      nextRecordsUrl: null,
    });
  });
  app.all(J, methodNotAllowed('GET,POST'));

  app.put(`${J}/:id/batches`, async (c) => {
    count('requests.jobs.upload');
    const contentType = c.req.header('content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('text/csv')) {
      throw httpFailure(
        400,
        'INVALIDCONTENTTYPE',
        `Content-Type ${contentType || '(none)'} is not supported; upload job data as text/csv`,
      );
    }
    bulk.upload(c.req.param('id'), await c.req.text());
    count('status.201');
    return c.body(null, 201);
  });
  app.all(`${J}/:id/batches`, methodNotAllowed('PUT'));

  const csvResponse = (c: Context, body: string) => {
    c.header('Content-Type', 'text/csv');
    c.header('Sforce-Locator', 'null');
    c.header(
      'Sforce-NumberOfRecords',
      String(Math.max(0, body.split('\n').filter((line) => line !== '').length - 1)),
    );
    return c.body(body, 200);
  };
  app.get(`${J}/:id/successfulResults`, (c) => {
    count('requests.jobs.successfulResults');
    return csvResponse(c, bulk.successfulResults(bulk.get(c.req.param('id'))));
  });
  app.get(`${J}/:id/failedResults`, (c) => {
    count('requests.jobs.failedResults');
    return csvResponse(c, bulk.failedResults(bulk.get(c.req.param('id'))));
  });
  app.get(`${J}/:id/unprocessedrecords`, (c) => {
    count('requests.jobs.unprocessedrecords');
    return csvResponse(c, bulk.unprocessedRecords(bulk.get(c.req.param('id'))));
  });

  app.get(`${J}/:id`, (c) => {
    count('requests.jobs.get');
    return c.json(bulk.info(bulk.get(c.req.param('id'))));
  });
  app.patch(`${J}/:id`, async (c) => {
    count('requests.jobs.state');
    const job = bulk.changeState(c.req.param('id'), await readJson(c));
    return c.json(bulk.info(job));
  });
  app.delete(`${J}/:id`, (c) => {
    count('requests.jobs.delete');
    bulk.delete(c.req.param('id'));
    count('status.204');
    return c.body(null, 204);
  });
  app.all(`${J}/:id`, methodNotAllowed('GET,PATCH,DELETE'));
}
