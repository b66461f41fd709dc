/** Memoises an async factory: one instance per process, retried if it failed. */
export function once<T>(factory: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => {
    promise ??= factory().catch((err) => {
      promise = undefined;
      throw err;
    });
    return promise;
  };
}
