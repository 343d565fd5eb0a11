/**
 * A WHERE clause from the conditions that apply, with their bound parameters in order.
 * @example const w = new Where(); if (status) w.and('status = ?', status); db.prepare(`SELECT …
 * ${w.sql}`).bind(...w.params)
 */
export class Where {
  private readonly conditions: string[] = [];
  readonly params: unknown[] = [];

  /** Adds a condition (`?` placeholders) and its parameters. */
  and(condition: string, ...params: unknown[]): this {
    this.conditions.push(condition);
    this.params.push(...params);
    return this;
  }

  /** `WHERE a AND b`, or nothing when no condition applies. */
  get sql(): string {
    return this.conditions.length > 0 ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}
