/** A value of a listing's named parameters (`@name` in both dialects); arrays are Postgres's (`= ANY`). */
export type WhereValue = string | number | string[];

/** WHERE terms with their named parameters; a term whose value is undefined is left out. */
export function where<V extends WhereValue = string | number>(params: Record<string, NoInfer<V>>) {
  const terms: string[] = [];
  return {
    terms,
    params,
    add(term: string, name: string, value: (V & (string | number)) | undefined) {
      if (value === undefined) return;
      terms.push(term);
      params[name] = value;
    },
    /** `tenant = …`, or `tenant IS NULL` for null (the platform's own); nothing for undefined. */
    tenant(value: string | null | undefined) {
      if (value === null) terms.push('tenant IS NULL');
      else if (value !== undefined) {
        terms.push('tenant = @tenant');
        params.tenant = value as V;
      }
    },
    clause: () => (terms.length === 0 ? '' : `WHERE ${terms.join(' AND ')}`),
  };
}
