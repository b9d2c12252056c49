import { setNonce } from "get-nonce";

let nonce: string | undefined;

/**
 * The per-response CSP nonce the server writes into <meta property="csp-nonce">. Anything that
 * injects a <style> element (react-remove-scroll via get-nonce, Radix Select's viewport) must
 * carry it, or the production CSP blocks it.
 */
export function cspNonce(): string | undefined {
  if (nonce === undefined && typeof document !== "undefined") {
    const value = document.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]')?.content;
    nonce = value && value !== "__CSP_NONCE__" ? value : "";
  }
  return nonce || undefined;
}

export function installCspNonce(): void {
  const value = cspNonce();
  if (value) setNonce(value);
}
