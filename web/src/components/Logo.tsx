export function Logo({ className = '' }: { className?: string }) {
  return (
    <span className={`inline-flex items-center gap-2 font-semibold tracking-tight ${className}`}>
      <svg viewBox="0 0 32 32" className="size-7" aria-hidden="true">
        <rect width="32" height="32" rx="8" className="fill-indigo-600" />
        <path d="M9 12h14M9 16h10M9 20h14" stroke="#fff" strokeWidth="2.5" strokeLinecap="round" />
      </svg>
      <span>Switchboard</span>
    </span>
  );
}
