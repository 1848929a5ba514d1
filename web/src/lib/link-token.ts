import { useState } from 'react';

/**
 * The one-time token of an emailed link (?token=…), read once and then removed from the address
 * bar, so it does not linger in history or get shared with a copied URL.
 */
export function useLinkToken(): string | null {
  const [token] = useState(() => {
    const url = new URL(window.location.href);
    const t = url.searchParams.get('token');
    if (t) {
      url.searchParams.delete('token');
      window.history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`);
    }
    return t;
  });
  return token;
}
