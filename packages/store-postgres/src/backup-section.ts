/** One table of a backup: its record type, how to read it page by page, how to insert a page of records. */
export interface Section {
  readonly type: string;
  /** Columns selected, each aliased to the record's property names. */
  readonly select: string;
  readonly table: string;
  /** The keyset: columns ordered by, and the record properties holding them. */
  readonly keys: readonly { column: string; property: string; cast: string }[];
  /** INSERT ... SELECT from `json_array_elements($1::json) AS r`. */
  readonly insert: string;
}
