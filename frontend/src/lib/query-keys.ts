/**
 * The generated client's query keys are `[{ _id: "<operationId>", path?, query?, … }]`: these
 * read that first element, for `predicate`s that match every cached variant of an operation.
 */
type KeyedQuery = { queryKey: readonly unknown[] };

interface GeneratedKey {
  _id?: string;
  path?: Record<string, string | undefined>;
}

/** The first element of a generated query key (its operation id and parameters). */
export function queryKeyOf(q: KeyedQuery): GeneratedKey | undefined {
  return q.queryKey[0] as GeneratedKey | undefined;
}

/** The operation id of a generated query key (e.g. `"runsList"`). */
export function queryIdOf(q: KeyedQuery): string | undefined {
  return queryKeyOf(q)?._id;
}

/** A predicate matching the cached queries of any of these operations (any parameters). */
export function byQueryId(...ids: string[]) {
  return (q: KeyedQuery) => {
    const id = queryIdOf(q);
    return id !== undefined && ids.includes(id);
  };
}
