export function Pagination({
  total,
  offset,
  limit,
  onOffset,
  noun,
}: {
  total: number;
  offset: number;
  limit: number;
  onOffset: (offset: number) => void;
  noun: string;
}) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return (
    <nav aria-label="Pagination" className="pagination">
      <span>
        {first}–{last} of {total} {noun}
      </span>
      <span>
        <button
          type="button"
          className="secondary outline"
          disabled={offset === 0}
          onClick={() => onOffset(Math.max(0, offset - limit))}
        >
          Previous
        </button>
        <button
          type="button"
          className="secondary outline"
          disabled={offset + limit >= total}
          onClick={() => onOffset(offset + limit)}
        >
          Next
        </button>
      </span>
    </nav>
  );
}
