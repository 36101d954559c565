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
  readonly 'enrollment.created': EnrollmentEventBase & { readonly trigger: string };
  /** An enrollment exited (an exit event, an exit step, a suppression, a deleted lead). */
  readonly 'enrollment.exited': EnrollmentEventBase & { readonly reason: string };
  /** An enrollment ran its last step. */
  readonly 'enrollment.completed': EnrollmentEventBase;
  /** A step failed for good: the enrollment is `failed` and a dead letter was written. */
  readonly 'enrollment.failed': EnrollmentEventBase & {
    readonly stepId: string;
    readonly code: string;
    readonly message: string;
  };
  /** A step finished and the enrollment moved on. */
  readonly 'step.completed': EnrollmentEventBase & { readonly stepId: string; readonly type: string };
  /** A step failed retryably and runs again at `retryAt`. */
  readonly 'step.retrying': EnrollmentEventBase & {
    readonly stepId: string;
    readonly code: string;
    readonly attempt: number;
    readonly retryAt: number;
  };
  /** The provider accepted an email. */
  readonly 'email.sent': EnrollmentEventBase & {
    readonly stepId: string;
    readonly ledgerKey: string;
    readonly messageId: string;
    readonly variant?: string;
  };
  /** An email was not sent: the address is suppressed. */
  readonly 'email.suppressed': EnrollmentEventBase & { readonly stepId: string; readonly reason: string };
  /** An email waits for the mailbox's cap or gap, until `until`. */
  readonly 'email.deferred': EnrollmentEventBase & {
    readonly stepId: string;
    readonly cap: 'dailyCap' | 'minGap';
    readonly until: number;
  };
  /**
   * A claimed send's outcome is unknown (a crash, a timeout): it is never
   * resent automatically. It waits for the provider's events to reconcile
   * it, or a person (`resolveReview`).
   */
  readonly 'send.needsReview': EnrollmentEventBase & {
    readonly stepId: string;
    readonly ledgerKey: string;
    readonly claimedAt: number;
  };
  /** A claimed send was settled from the provider's events. */
  readonly 'send.reconciled': EnrollmentEventBase & {
    readonly stepId: string;
    readonly ledgerKey: string;
    readonly messageId: string;
  };
  /** A webhook step's call succeeded. */
  readonly 'webhook.called': EnrollmentEventBase & { readonly stepId: string; readonly status: number };
  /** Something failed in the background (a wake-up handler, the store): the wake-up comes again. */
  readonly 'engine.error': { readonly key: string; readonly error: unknown };
}
