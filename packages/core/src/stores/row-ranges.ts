/**
 * A set of row numbers kept as a watermark (every row up to it is in the
 * set) plus sorted, merged ranges above it. Rows finish roughly in order, so
 * the ranges stay few (bounded by the rows in flight), whatever the input's
 * size.
 */
export class RowRanges {
  #watermark = 0;
  /** Sorted, disjoint, non-adjacent ranges above the watermark: [from, to] pairs flattened. */
  #ranges: number[] = [];
  #count = 0;

  /** How many rows are in the set. */
  get count(): number {
    return this.#count;
  }

  /** Every row up to this one is in the set. */
  get watermark(): number {
    return this.#watermark;
  }

  /** How many ranges are kept above the watermark. */
  get rangeCount(): number {
    return this.#ranges.length / 2;
  }

  /** Whether `row` is in the set. */
  has(row: number): boolean {
    if (row <= this.#watermark) return true;
    const index = this.#find(row);
    return index >= 0 && row <= (this.#ranges[index * 2 + 1] ?? 0);
  }

  /** Index of the last range starting at or before `row`, or -1. */
  #find(row: number): number {
    let low = 0;
    let high = this.#ranges.length / 2 - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((this.#ranges[middle * 2] ?? 0) <= row) {
        found = middle;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found;
  }

  /** Add every row from `from` to `to`, inclusive. */
  addRange(from: number, to: number): void {
    for (let row = from; row <= to; row++) {
      if (row <= this.#watermark) continue;
      // Whole ranges above the watermark are merged in one step when possible.
      const index = this.#find(row);
      const end = index >= 0 ? (this.#ranges[index * 2 + 1] ?? 0) : -1;
      if (index >= 0 && row <= end) {
        row = end;
        continue;
      }
      const nextStart = this.#ranges[(index + 1) * 2];
      const stop = Math.min(to, nextStart === undefined ? to : nextStart - 1);
      this.#insert(index, row, stop);
      row = stop;
    }
  }

  /** Add one row. */
  add(row: number): void {
    this.addRange(row, row);
  }

  #insert(index: number, from: number, to: number): void {
    this.#count += to - from + 1;
    const ranges = this.#ranges;
    const joinsPrevious = index >= 0 && (ranges[index * 2 + 1] ?? 0) === from - 1;
    const nextIndex = index + 1;
    const joinsNext = nextIndex * 2 < ranges.length && (ranges[nextIndex * 2] ?? 0) === to + 1;
    if (joinsPrevious && joinsNext) {
      ranges[index * 2 + 1] = ranges[nextIndex * 2 + 1] ?? to;
      ranges.splice(nextIndex * 2, 2);
    } else if (joinsPrevious) {
      ranges[index * 2 + 1] = to;
    } else if (joinsNext) {
      ranges[nextIndex * 2] = from;
    } else {
      ranges.splice(nextIndex * 2, 0, from, to);
    }
    while (ranges.length > 0 && (ranges[0] ?? 0) <= this.#watermark + 1) {
      this.#watermark = Math.max(this.#watermark, ranges[1] ?? 0);
      ranges.splice(0, 2);
    }
  }

  /** The set as [from, to] pairs, watermark first. */
  toRanges(): [number, number][] {
    const out: [number, number][] = this.#watermark > 0 ? [[1, this.#watermark]] : [];
    for (let index = 0; index < this.#ranges.length; index += 2) {
      out.push([this.#ranges[index] ?? 0, this.#ranges[index + 1] ?? 0]);
    }
    return out;
  }
}

/** Sorted rows compressed to [from, to] pairs. */
export function compressRows(rows: readonly number[]): [number, number][] {
  const sorted = [...rows].sort((left, right) => left - right);
  const out: [number, number][] = [];
  for (const row of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && row <= last[1] + 1) last[1] = Math.max(last[1], row);
    else out.push([row, row]);
  }
  return out;
}
