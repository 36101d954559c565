/** The credit budgets of one engine. */
export interface BudgetLimits {
  /** Most credits spent on one lead. */
  readonly perLead?: number;
  /** Most credits spent in the engine's lifetime. */
  readonly perRun?: number;
}

/** Why a call was refused: the payload of `budget.reached`, less the ids. */
export interface BudgetRefusal {
  /** Which budget the call would pass. */
  readonly scope: 'lead' | 'run';
  /** Credits already spent against that budget. */
  readonly spent: number;
  /** Credits held for calls in flight (`run` scope; 0 for `lead`). */
  readonly reserved: number;
  /** What the refused call could cost. */
  readonly cost: number;
  /** The budget. */
  readonly budget: number;
}

/**
 * The engine's credit account: what the run has spent, what calls in flight
 * hold, and whether one more call fits the per-lead and per-run budgets.
 * A call that fits reserves its cost until it settles, so leads in flight
 * together can never spend past the run budget. No timers, no awaits.
 */
export class CreditBudget {
  readonly #limits: BudgetLimits;
  #spent = 0;
  #reserved = 0;
  #refusals = 0;

  /** @param limits - the budgets; an absent one is unlimited. */
  constructor(limits: BudgetLimits) {
    this.#limits = limits;
  }

  /** Credits spent in the run so far. */
  get spent(): number {
    return this.#spent;
  }

  /** Credits held for calls in flight. */
  get reserved(): number {
    return this.#reserved;
  }

  /** Calls refused so far. */
  get refusals(): number {
    return this.#refusals;
  }

  /**
   * Whether a call that could cost `cost` fits, for a lead that has spent
   * `leadSpent`: `undefined` when it does, else the refusal (counted). The
   * per-lead budget is checked first; the run budget counts reservations.
   */
  check(leadSpent: number, cost: number): BudgetRefusal | undefined {
    if (cost <= 0) return undefined;
    const { perLead, perRun } = this.#limits;
    let refusal: BudgetRefusal | undefined;
    if (perLead !== undefined && leadSpent + cost > perLead) {
      refusal = { scope: 'lead', spent: leadSpent, reserved: 0, cost, budget: perLead };
    } else if (perRun !== undefined && this.#spent + this.#reserved + cost > perRun) {
      refusal = { scope: 'run', spent: this.#spent, reserved: this.#reserved, cost, budget: perRun };
    }
    if (refusal) this.#refusals += 1;
    return refusal;
  }

  /** Hold `cost` for a call about to be made. Returns the release, which is safe to call twice. */
  reserve(cost: number): () => void {
    this.#reserved += cost;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#reserved -= cost;
    };
  }

  /** Record credits a call cost. */
  spend(credits: number): void {
    this.#spent += credits;
  }
}
