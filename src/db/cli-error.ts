/** A CLI failure as one line: the error's message and, when it adds something, its cause's. */
export function oneLine(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  const message = e?.cause?.message && !e.message?.includes(e.cause.message) ? `${e.message}: ${e.cause.message}` : e?.message;
  return String(message ?? err).replace(/\s*\n\s*/g, ' ').trim();
}
