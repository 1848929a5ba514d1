// Who sent a request, as the audit log and the security mails record it. Every capability that
// audits takes this from its routes; nothing in it is trusted for access decisions.

export interface RequestMeta {
  ip: string;
  userAgent: string | null;
  requestId: string;
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
