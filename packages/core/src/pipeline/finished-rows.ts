import type { Checkpoint } from '../contracts/checkpoint-store.js';

/**
 * The rows an earlier run finished, asked of the checkpoint one window at a
 * time: the first question about a row outside the current window loads
 * the window starting at that row (`windowSize` rows), so a store on a
 * database answers a few thousand rows per query and nothing holds every
 * finished row number.
 */
export class FinishedRows {
  readonly #checkpoint: Pick<Checkpoint, 'finishedIn'>;
  readonly #windowSize: number;
  #from = 0;
  #to = -1;
  #rows = new Set<number>();

  /**
   * @param checkpoint - the run's checkpoint.
   * @param windowSize - rows per question. Default 4,096.
   */
  constructor(checkpoint: Pick<Checkpoint, 'finishedIn'>, windowSize = 4_096) {
    this.#checkpoint = checkpoint;
    this.#windowSize = windowSize;
  }

  /** Whether an earlier run finished `rowNumber` (a row number below 1 never is). */
  async has(rowNumber: number): Promise<boolean> {
    if (!Number.isInteger(rowNumber) || rowNumber < 1) return false;
    if (rowNumber < this.#from || rowNumber > this.#to) {
      const window = { from: rowNumber, to: rowNumber + this.#windowSize - 1 };
      const rows = await this.#checkpoint.finishedIn(window);
      this.#rows = new Set(rows);
      this.#from = window.from;
      this.#to = window.to;
    }
    return this.#rows.has(rowNumber);
  }
}
