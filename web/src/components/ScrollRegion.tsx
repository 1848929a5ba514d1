import type { ReactNode, Ref } from 'react';

/**
 * A box that scrolls inside the page (sideways, down, or both, as `className` says): a region
 * named by `label` that keyboard users can focus and scroll with the arrow keys (WCAG 2.1.1;
 * axe's scrollable-region-focusable): a wide table, a long message thread. It is `relative` so
 * that absolutely positioned content (sr-only text) scrolls and is clipped with it instead of
 * stretching the page, which would leave the sidebar short of the page's end.
 */
export function ScrollRegion({
  label,
  className,
  ref,
  children,
}: {
  label: string;
  className: string;
  ref?: Ref<HTMLElement>;
  children: ReactNode;
}) {
  return (
    <section
      ref={ref}
      aria-label={label}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be focusable to scroll by keyboard
      tabIndex={0}
      className={`relative focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-600 ${className}`}
    >
      {children}
    </section>
  );
}
