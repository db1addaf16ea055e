/** Where the client gets its JWT: a fixed string, or a function (for refreshing tokens). */
export type TokenSource = string | (() => string | Promise<string>);

/** Resolves a {@link TokenSource} to the token to send now. */
export async function resolveToken(source: TokenSource): Promise<string> {
  return typeof source === 'function' ? source() : source;
}
