/**
 * Reads an NDJSON body (one JSON value per line) as it streams in, handing over parsed values in
 * batches (one batch per network chunk), so a 100k-line log shows its first lines at once and
 * never blocks the page. The body comes from the generated client called with
 * `parseAs: "stream"` (same base URL, cookies, CSRF and problem+json errors as every other call):
 * nothing here issues requests itself.
 */
export async function readNdjson<T>(
  body: ReadableStream<Uint8Array> | null | undefined,
  onBatch: (values: T[]) => void,
  signal?: AbortSignal,
): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  const abort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener("abort", abort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      const cut = rest.lastIndexOf("\n");
      if (cut < 0) continue;
      const complete = rest.slice(0, cut);
      rest = rest.slice(cut + 1);
      onBatch(parseLines<T>(complete));
    }
    rest += decoder.decode();
    if (rest.trim()) onBatch(parseLines<T>(rest));
  } finally {
    signal?.removeEventListener("abort", abort);
    reader.releaseLock?.();
  }
}

/** Parses newline-separated JSON values, skipping blank or malformed lines. */
export function parseLines<T>(text: string): T[] {
  const out: T[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      /* a torn or non-JSON line: skip it */
    }
  }
  return out;
}
