// The document title: `<page> · Switchboard`. Routes sets each route's own (app/Routes.tsx); a page
// whose state changes what it shows (a link found dead, a check that failed) names that state.
import { useEffect } from 'react';

export function documentTitle(page: string): string {
  return `${page} · Switchboard`;
}

/**
 * The title of the page's current state, kept in step with its h1. Routes sets the route's title in
 * a layout effect, before this (passive) one: the page's own has the last word.
 */
export function useStateTitle(page: string): void {
  useEffect(() => {
    document.title = documentTitle(page);
  }, [page]);
}
