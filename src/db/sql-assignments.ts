/** `a = ? <joiner> b = ?` over the columns whose value is given (undefined ones are left out). */
export function assignments(columns: Record<string, unknown>, joiner: string): { sql: string; params: unknown[] } {
  const given = Object.entries(columns).filter(([, v]) => v !== undefined);
  return { sql: given.map(([c]) => `${c} = ?`).join(joiner), params: given.map(([, v]) => v) };
}
