import { useCallback } from 'react';
import { useSearchParams } from 'react-router';

/**
 * A page's filters live in its URL (so a link or a reload shows the same list). `update`
 * sets or clears some of them and, unless `offset` is one of them, goes back to the first
 * page. It builds on the URL as it is when it runs, so a delayed update (the search box)
 * keeps a sort chosen in the meantime.
 */
export function useUrlFilters(): [URLSearchParams, (changes: Record<string, string>) => void] {
  const [params, setParams] = useSearchParams();
  const update = useCallback(
    (changes: Record<string, string>) => {
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          for (const [key, value] of Object.entries(changes)) {
            if (value) next.set(key, value);
            else next.delete(key);
          }
          if (!('offset' in changes)) next.delete('offset');
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );
  return [params, update];
}
