// The dashboard's root: providers, then the route table. This is the only layer that puts
// features together; features never import each other.

import { RouterProvider } from '../lib/router.tsx';
import { SessionProvider } from '../lib/session.tsx';
import { ToastProvider } from '../lib/toast.tsx';
import { Routes } from './Routes.tsx';

export function App() {
  return (
    <ToastProvider>
      <RouterProvider>
        <SessionProvider>
          <Routes />
        </SessionProvider>
      </RouterProvider>
    </ToastProvider>
  );
}
