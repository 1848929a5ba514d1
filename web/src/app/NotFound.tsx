import { buttonClass } from '../components/Button.tsx';
import { Link } from '../lib/router.tsx';

export function NotFound({ standalone = false }: { standalone?: boolean }) {
  const body = (
    <div className="mx-auto max-w-md py-16 text-center">
      <p className="text-sm font-semibold text-indigo-600">404</p>
      <h1 className="mt-2 text-2xl font-semibold text-slate-900">Page not found</h1>
      <p className="mt-2 text-sm text-slate-500">The page you are looking for does not exist.</p>
      <Link to={standalone ? '/' : '/app'} className={`${buttonClass('primary')} mt-6`}>
        {standalone ? 'Go home' : 'Back to the dashboard'}
      </Link>
    </div>
  );
  return standalone ? <main className="px-4">{body}</main> : body;
}

export function NoAccess() {
  return (
    <div className="mx-auto max-w-md py-16 text-center">
      <h1 className="text-2xl font-semibold text-slate-900">You don't have access to this page</h1>
      <p className="mt-2 text-sm text-slate-500">
        Only owners and admins of this organization can see it. Ask one of them if you need
        something changed.
      </p>
      <Link to="/app" className={`${buttonClass('secondary')} mt-6`}>
        Back to the dashboard
      </Link>
    </div>
  );
}
