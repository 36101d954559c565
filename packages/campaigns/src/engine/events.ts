/** Fields every engine event about an enrollment has. */
export interface EnrollmentEventBase {
  /** The campaign. */
  readonly campaignId: string;
  /** The enrollment. */
  readonly enrollmentId: string;
  /** The lead. */
  readonly leadId: string;
}

/**
 * The campaign engine's events by `noun.verb` name. Events only observe: a
 * listener that throws changes nothing. Payloads carry ids, never email
 * addresses or secrets.
 */
export interface CampaignEngineEvents {
  /** A lead was enrolled. */
  readonly 'enrollment.created': EnrollmentEventBase & {
    /** What enrolled the lead. */
    readonly trigger: string;
  };
  /** An enrollment exited (an exit event, an exit step, a suppression, a deleted lead). */
  readonly 'enrollment.exited': EnrollmentEventBase & {
    /** Why. */
    readonly reason: string;
  };
  /** An enrollment ran its last step. */
  readonly 'enrollment.completed': EnrollmentEventBase;
  /** A step failed for good: the enrollment is `failed` and a dead letter was written. */
  readonly 'enrollment.failed': EnrollmentEventBase & {
    /** The step. */
    readonly stepId: string;
    /** The error code. */
    readonly code: string;
    /** The error message, scrubbed. */
    readonly message: string;
  };
  /** A step finished and the enrollment moved on. */
  readonly 'step.completed': EnrollmentEventBase & {
    /** The step. */
    readonly stepId: string;
    /** The step type. */
    readonly type: string;
  };
  /** A step failed retryably and runs again at `retryAt`. */
  readonly 'step.retrying': EnrollmentEventBase & {
    /** The step. */
    readonly stepId: string;
    /** The error code. */
    readonly code: string;
    /** The failed attempt number, from 1. */
    readonly attempt: number;
    /** When it runs again (epoch ms). */
    readonly retryAt: number;
  };
  /** The provider accepted an email. */
  readonly 'email.sent': EnrollmentEventBase & {
    /** The step. */
    readonly stepId: string;
    /** The send ledger key. */
    readonly ledgerKey: string;
    /** The provider's message id. */
    readonly messageId: string;
    /** The A/B variant, if any. */
    readonly variant?: string;
  };
  /** An email was not sent: the address is suppressed. */
  readonly 'email.suppressed': EnrollmentEventBase & {
    /** The step. */
    readonly stepId: string;
    /** The suppression reason. */
    readonly reason: string;
  };
  /** An email waits for the mailbox's cap or gap, until `until`. */
  readonly 'email.deferred': EnrollmentEventBase & {
    /** The step. */
    readonly stepId: string;
    /**
     * What deferred it: the mailbox's `dailyCap` or `minGap`, or `window` (the sending window closed while the send
     * waited for the provider's rate limit; the claim was released unsent).
     */
    readonly cap: 'dailyCap' | 'minGap' | 'window';
    /** When it tries again (epoch ms). */
    readonly until: number;
  };
  /**
   * A claimed send's outcome is unknown (a crash, a timeout): it is never
   * resent automatically. It waits for the provider's events to reconcile
   * it, or a person (`resolveReview`).
   */
  readonly 'send.needsReview': EnrollmentEventBase & {
    /** The step. */
    readonly stepId: string;
    /** The send ledger key. */
    readonly ledgerKey: string;
    /** When it was claimed (epoch ms). */
    readonly claimedAt: number;
  };
  /** A claimed send was settled from the provider's events. */
  readonly 'send.reconciled': EnrollmentEventBase & {
    /** The step. */
    readonly stepId: string;
    /** The send ledger key. */
    readonly ledgerKey: string;
    /** The provider's message id. */
    readonly messageId: string;
  };
  /** A webhook step's call succeeded. */
  readonly 'webhook.called': EnrollmentEventBase & {
    /** The step. */
    readonly stepId: string;
    /** HTTP status. */
    readonly status: number;
  };
  /** Something failed in the background (a wake-up handler, the store): the wake-up comes again. */
  readonly 'engine.error': {
    /** The wake-up key (or `store`). */
    readonly key: string;
    /** What was thrown, scrubbed of secrets. */
    readonly error: unknown;
  };
}
