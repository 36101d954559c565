import { afterEach, describe, expect, it } from 'vitest';
import { type RunningSalesforce, startSalesforce } from './salesforce-support.js';

const JOBS = '/services/data/v62.0/jobs/ingest';

describe('Salesforce emulator Bulk API 2.0 ingest over HTTP', () => {
  let sf: RunningSalesforce;
  afterEach(async () => {
    await sf.close();
  });

  const createJob = async (body: Record<string, unknown>, base = JOBS) => {
    const response = await sf.call(base, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ object: 'Lead', contentType: 'CSV', ...body }),
    });
    return { response, body: (await response.json()) as Record<string, unknown> };
  };
  const upload = (id: string, csv: string, base = JOBS) =>
    sf.call(`${base}/${id}/batches`, { method: 'PUT', headers: { 'Content-Type': 'text/csv' }, body: csv });
  const setState = (id: string, state: string) =>
    sf.call(`${JOBS}/${id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ state }),
    });
  const info = async (id: string, base = JOBS) =>
    (await (await sf.call(`${base}/${id}`)).json()) as Record<string, unknown>;
  const text = async (path: string) => {
    const response = await sf.call(path);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    return response.text();
  };

  it('walks Open -> UploadComplete -> InProgress -> JobComplete on the emulated clock and writes result CSVs', async () => {
    sf = await startSalesforce({
      bulkStartDelayMs: 1000,
      bulkRecordsPerSecond: 2,
      shuffleBulkResults: false,
    });
    await sf.call('/services/data/v62.0/sobjects/Lead/Lead_Key__c/k2', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ LastName: 'Old', Company: 'Old Co', Title: 'Keep me', Email: 'old@x.io' }),
    });
    const { response, body } = await createJob({ operation: 'upsert', externalIdFieldName: 'Lead_Key__c' });
    expect(response.status).toBe(200);
    expect(body).toMatchObject({
      object: 'Lead',
      operation: 'upsert',
      state: 'Open',
      externalIdFieldName: 'Lead_Key__c',
      contentType: 'CSV',
      lineEnding: 'LF',
      columnDelimiter: 'COMMA',
      apiVersion: 62,
    });
    const id = String(body.id);
    expect(id).toMatch(/^750/);
    const csv = [
      'Lead_Key__c,LastName,Company,Title,Email',
      'k1,"Smith, Jr.",Acme,CEO,a@acme.io',
      'k2,New,New Co,,#N/A',
      'k3,Doe,,CTO,c@acme.io',
      'k4,Roe,Acme,"say ""hi""",d@acme.io',
    ].join('\n');
    expect((await upload(id, csv)).status).toBe(201);
    const tooEarly = await sf.call(`${JOBS}/${id}/successfulResults/`);
    expect(tooEarly.status).toBe(409);
    expect(await info(id)).toMatchObject({ state: 'Open', numberRecordsProcessed: 0 });
    expect(await (await setState(id, 'UploadComplete')).json()).toMatchObject({ state: 'UploadComplete' });
    sf.advance(999);
    expect(await info(id)).toMatchObject({ state: 'UploadComplete' });
    sf.advance(1);
    expect(await info(id)).toMatchObject({ state: 'InProgress', numberRecordsProcessed: 0 });
    sf.advance(1000);
    expect(await info(id)).toMatchObject({
      state: 'InProgress',
      numberRecordsProcessed: 2,
      numberRecordsFailed: 0,
    });
    expect(sf.emulator.findLeadByExternalId('k1')?.LastName).toBe('Smith, Jr.');
    expect(sf.emulator.findLeadByExternalId('k4')).toBeUndefined();
    sf.advance(1000);
    expect(await info(id)).toMatchObject({
      state: 'JobComplete',
      numberRecordsProcessed: 4,
      numberRecordsFailed: 1,
    });

    const k1 = sf.emulator.findLeadByExternalId('k1');
    const k2 = sf.emulator.findLeadByExternalId('k2');
    const k4 = sf.emulator.findLeadByExternalId('k4');
    expect(k2).toMatchObject({ LastName: 'New', Title: 'Keep me', Email: null });
    expect(k4?.Title).toBe('say "hi"');
    expect(await text(`${JOBS}/${id}/successfulResults/`)).toBe(
      [
        '"sf__Id","sf__Created",Lead_Key__c,LastName,Company,Title,Email',
        `"${k1?.Id}","true","k1","Smith, Jr.","Acme","CEO","a@acme.io"`,
        `"${k2?.Id}","false","k2","New","New Co","","#N/A"`,
        `"${k4?.Id}","true","k4","Roe","Acme","say ""hi""","d@acme.io"`,
        '',
      ].join('\n'),
    );
    expect(await text(`${JOBS}/${id}/failedResults/`)).toBe(
      [
        '"sf__Id","sf__Error",Lead_Key__c,LastName,Company,Title,Email',
        '"","REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:Company --","k3","Doe","","CTO","c@acme.io"',
        '',
      ].join('\n'),
    );
    expect(await text(`${JOBS}/${id}/unprocessedrecords/`)).toBe(
      'Lead_Key__c,LastName,Company,Title,Email\n',
    );
    const list = (await (await sf.call(JOBS)).json()) as { done: boolean; records: { id: string }[] };
    expect(list.done).toBe(true);
    expect(list.records.map((job) => job.id)).toEqual([id]);
    expect((await sf.call(`${JOBS}/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await sf.call(`${JOBS}/${id}`)).status).toBe(404);
  });

  it('aborts a running job and lists the rows it never processed', async () => {
    sf = await startSalesforce({ bulkStartDelayMs: 0, bulkRecordsPerSecond: 1 });
    const { body } = await createJob({ operation: 'insert' });
    const id = String(body.id);
    await upload(id, 'LastName,Company\nA,X\nB,X\nC,X\n');
    await setState(id, 'UploadComplete');
    sf.advance(1000);
    expect(await info(id)).toMatchObject({ state: 'InProgress', numberRecordsProcessed: 1 });
    expect(await (await setState(id, 'Aborted')).json()).toMatchObject({ state: 'Aborted' });
    sf.advance(10_000);
    expect(await info(id)).toMatchObject({ state: 'Aborted', numberRecordsProcessed: 1 });
    expect(await text(`${JOBS}/${id}/unprocessedrecords/`)).toBe('LastName,Company\n"B","X"\n"C","X"\n');
    expect(sf.emulator.leads().map((lead) => lead.LastName)).toEqual(['A']);
    const again = await setState(id, 'UploadComplete');
    expect(again.status).toBe(409);
    expect(((await again.json()) as { errorCode: string }[])[0]?.errorCode).toBe('INVALIDJOBSTATE');
  });

  it('fails jobs whose CSV has an unknown column or the wrong line ending', async () => {
    sf = await startSalesforce({ bulkStartDelayMs: 0, bulkRecordsPerSecond: 1000 });
    const unknown = String((await createJob({ operation: 'insert' })).body.id);
    await upload(unknown, 'LastName,Company,Shoe_Size__c\nA,B,42\n');
    await setState(unknown, 'UploadComplete');
    const crlf = String((await createJob({ operation: 'insert' })).body.id);
    await upload(crlf, 'LastName,Company\r\nA,B\r\n');
    await setState(crlf, 'UploadComplete');
    sf.advance(1);
    expect(await info(unknown)).toMatchObject({
      state: 'Failed',
      errorMessage: 'InvalidBatch : Field name not found : Shoe_Size__c',
    });
    expect(await info(crlf)).toMatchObject({
      state: 'Failed',
      errorMessage: 'ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF',
    });
    expect(await text(`${JOBS}/${crlf}/unprocessedrecords/`)).toBe('LastName,Company\r\nA,B\r\n');
    expect(sf.emulator.leads()).toEqual([]);
  });

  it('honours CRLF jobs, other delimiters, and pre-v53 failedResults without sf__Id', async () => {
    sf = await startSalesforce({ bulkStartDelayMs: 0, bulkRecordsPerSecond: 1000 });
    const base = '/services/data/v52.0/jobs/ingest';
    const { body } = await createJob(
      { operation: 'insert', lineEnding: 'CRLF', columnDelimiter: 'PIPE' },
      base,
    );
    const id = String(body.id);
    await upload(id, 'LastName|Company|NumberOfEmployees\r\nA|X|12\r\nB||3\r\n', base);
    await sf.call(`${base}/${id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ state: 'UploadComplete' }),
    });
    sf.advance(10);
    expect(await info(id, base)).toMatchObject({ state: 'JobComplete', numberRecordsFailed: 1 });
    const failed = await text(`${base}/${id}/failedResults/`);
    expect(failed).toBe(
      '"sf__Error"|LastName|Company|NumberOfEmployees\r\n"REQUIRED_FIELD_MISSING:Required fields are missing: [Company]:Company --"|"B"|""|"3"\r\n',
    );
    expect(sf.emulator.leads()[0]).toMatchObject({ LastName: 'A', NumberOfEmployees: 12 });
  });

  it('validates job creation and uploads with Salesforce errors', async () => {
    sf = await startSalesforce();
    const noKey = await createJob({ operation: 'upsert' });
    expect(noKey.response.status).toBe(400);
    expect(noKey.body).toEqual([
      {
        errorCode: 'INVALIDJOB',
        message: 'InvalidJob : External ID was blank for Lead. An External ID must be specified for upsert.',
      },
    ]);
    const notExternal = await createJob({ operation: 'upsert', externalIdFieldName: 'Email' });
    expect(JSON.stringify(notExternal.body)).toContain('does not match an External ID');
    const badObject = await createJob({ object: 'Contact', operation: 'insert' });
    expect(JSON.stringify(badObject.body)).toContain('Unable to find object: Contact');
    const id = String((await createJob({ operation: 'insert' })).body.id);
    const wrongType = await sf.call(`${JOBS}/${id}/batches`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(wrongType.status).toBe(400);
    expect((await upload(id, 'LastName,Company\nA,B\n')).status).toBe(201);
    const twice = await upload(id, 'LastName,Company\nC,D\n');
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { message: string }[])[0]?.message).toMatch(
      /^Found multiple contents for job/,
    );
    expect((await sf.call(`${JOBS}/750Dn0000000099AAA`)).status).toBe(404);
  });

  it('fails a seeded share of rows with UNABLE_TO_LOCK_ROW under partialFailureRate', async () => {
    sf = await startSalesforce({
      bulkStartDelayMs: 0,
      bulkRecordsPerSecond: 10_000,
      partialFailureRate: 0.3,
    });
    const id = String((await createJob({ operation: 'upsert', externalIdFieldName: 'Lead_Key__c' })).body.id);
    const rows = Array.from({ length: 100 }, (_, index) => `k${index},L${index},Co`);
    await upload(id, ['Lead_Key__c,LastName,Company', ...rows].join('\n'));
    await setState(id, 'UploadComplete');
    sf.advance(100);
    const job = await info(id);
    const failedCount = Number(job.numberRecordsFailed);
    expect(job.state).toBe('JobComplete');
    expect(failedCount).toBeGreaterThan(10);
    expect(failedCount).toBeLessThan(60);
    const failed = (await text(`${JOBS}/${id}/failedResults/`)).trim().split('\n').slice(1);
    expect(failed).toHaveLength(failedCount);
    expect(
      failed.every((line) => line.includes('UNABLE_TO_LOCK_ROW:unable to obtain exclusive access')),
    ).toBe(true);
    expect(sf.emulator.leads()).toHaveLength(100 - failedCount);
    expect(sf.emulator.jobs()[0]).toMatchObject({
      numberRecordsFailed: failedCount,
      numberRecordsProcessed: 100,
    });
  });
});
