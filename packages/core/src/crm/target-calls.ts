// The calls of one CRM's run, around the adapter: its limiter (asked for on the first call), the
// call options (abort signal, rate-limit headers to the limiter), the `leadpipe.crm.<operation>`
// span of each call, the error hook for a call that failed for good, and the health verdict
// ("down") a whole-call failure may bring.
import type { CrmCallOptions, CrmRecordError } from '../contracts/crm-adapter.js';
import { ApiCallError, LeadpipeError } from '../contracts/errors.js';
import type { ProviderLimiter } from '../limits/index.js';
import { TelemetryAttributes, traceCall } from '../telemetry/index.js';
import { CrmDownError } from './record-errors.js';
import type { TargetRunState } from './target-state.js';

/** The adapter calls of one CRM's run: limiter, spans, error reports and the "down" verdict. */
export class CrmTargetCalls {
  readonly #run: TargetRunState;
  #limiter: ProviderLimiter | undefined;

  /** @param run - the state of the CRM's run. */
  constructor(run: TargetRunState) {
    this.#run = run;
  }

  /** A batch already in flight when its CRM went down stops before its next call. */
  stopIfDown(): void {
    const down = this.#run.health.down;
    if (down) throw new CrmDownError(down);
  }

  /** The CRM's limiter, asked for once, on the first call. */
  limiterInstance(): ProviderLimiter {
    this.#limiter ??= this.#run.ctx.limiter();
    return this.#limiter;
  }

  /** The options of one adapter call: the run's signal, and rate-limit headers told to `limiter`. */
  callOptions(limiter: ProviderLimiter): CrmCallOptions {
    return { signal: this.#run.ctx.signal, onRateLimit: (state) => limiter.update(state) };
  }

  /** One CRM call in a `leadpipe.crm.<operation>` span under the run's span, with the batch size. */
  traced<T>(operation: 'get' | 'upsert', records: number, call: () => PromiseLike<T>): Promise<T> {
    return traceCall(
      {
        kind: 'crm',
        vendor: this.#run.adapterId,
        operation,
        parent: this.#run.ctx.traceParent,
        attributes: {
          [TelemetryAttributes.crmObject]: this.#run.object,
          [TelemetryAttributes.batchSize]: records,
        },
      },
      async () => call(),
    );
  }

  /** Tell the error hook about a call that failed for good (after the limiter and retries). */
  report(error: unknown, recordError: CrmRecordError): void {
    let reportable: Error;
    if (LeadpipeError.isInstance(error)) reportable = error;
    else {
      // Not leadpipe's own error: only its scrubbed message goes out.
      reportable = new Error(recordError.message);
      reportable.name = 'CrmAdapterError';
    }
    this.#run.ctx.observer.report(reportable, {
      component: 'crm',
      code: recordError.code,
      adapterId: this.#run.adapterId,
    });
  }

  /** A call failed as a whole after its retries: maybe the CRM is down now. */
  callFailed(error: CrmRecordError): void {
    if (this.#run.health.failed(error)) {
      this.#run.emit({
        type: 'crm.down',
        adapterId: this.#run.adapterId,
        object: this.#run.object,
        code: error.code,
        message: error.message,
      });
    }
  }
}

/** A 429 the limiter gave up re-running (`rate_limited`). */
export function isRateLimited(error: unknown): boolean {
  return ApiCallError.isInstance(error) && error.code === 'rate_limited';
}
