// Who sent a request, as the audit log and the security mails record it. Every capability that
// audits takes this from its routes; nothing in it is trusted for access decisions.

export interface RequestMeta {
  ip: string;
  userAgent: string | null;
  requestId: string;
}

/**
 * What the audit log records for an act of the system itself (a start-up step, the dispatcher, an
 * operator's command): no request, so the loopback address and the component's name.
 */
export function systemMeta(component: string): RequestMeta {
  return { ip: '127.0.0.1', userAgent: `switchboard-${component}`, requestId: component };
}

export function requestMeta(request: {
  ip: string;
  headers: Record<string, string | string[] | undefined>;
  id: string;
}): RequestMeta {
  const ua = request.headers['user-agent'];
  return {
    ip: request.ip,
    userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null,
    requestId: request.id,
  };
}
