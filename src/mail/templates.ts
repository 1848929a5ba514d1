// Mail templates: one function per mail, each with a plain-text and an HTML part.
//
// Threats handled here:
// - Names, org names, user agents and IPs come from users (an inviter picks the org name that
//   lands in someone else's inbox). Every interpolated value is collapsed to one line and cut to
//   a bounded length (no forged paragraphs or fake headers in the text part) and HTML-escaped
//   in the HTML part.
// - Links carry bearer tokens: the token is URL-encoded so it can never break out of its query
//   parameter, and links are absolute, built only from the configured public URL.

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const PRODUCT = 'Switchboard';
const MAX_VALUE_LENGTH = 120;

/** Escapes the five characters that matter in HTML text and in quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// C0/C1 controls and the Unicode line/paragraph separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** One line, no control characters, bounded: user input must not shape the mail's layout. */
function oneLine(value: string, max = MAX_VALUE_LENGTH): string {
  const trimmed = value.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  return trimmed.length > max ? `${trimmed.slice(0, max - 1)}…` : trimmed;
}

function baseUrl(publicUrl: string): string {
  return publicUrl.replace(/\/+$/, '');
}

function tokenLink(publicUrl: string, path: string, token: string, extra = ''): string {
  return `${baseUrl(publicUrl)}${path}?token=${encodeURIComponent(token)}${extra}`;
}

function formatTime(at: Date): string {
  // Fixed, unambiguous UTC form: the recipient's time zone is unknown.
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function greeting(name: string | undefined): string {
  const n = name === undefined ? '' : oneLine(name);
  return n === '' ? 'Hello,' : `Hello ${n},`;
}

/** A paragraph is a list of pieces: plain strings, or links rendered as anchors in HTML. */
type Piece = string | { href: string; label: string };
type Block =
  | { p: Piece[] }
  | { button: { href: string; label: string } }
  | { facts: [string, string][] };

function renderText(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    if ('p' in b) {
      out.push(b.p.map((piece) => (typeof piece === 'string' ? piece : piece.href)).join(''));
    } else if ('button' in b) {
      out.push(`${b.button.label}:\n${b.button.href}`);
    } else {
      out.push(b.facts.map(([k, v]) => `${k}: ${v}`).join('\n'));
    }
  }
  out.push(`— The ${PRODUCT} team`);
  return `${out.join('\n\n')}\n`;
}

function renderHtml(title: string, blocks: Block[]): string {
  const body: string[] = [];
  for (const b of blocks) {
    if ('p' in b) {
      const inner = b.p
        .map((piece) =>
          typeof piece === 'string'
            ? escapeHtml(piece)
            : `<a href="${escapeHtml(piece.href)}" style="color:#2563eb">${escapeHtml(piece.label)}</a>`,
        )
        .join('');
      body.push(`<p style="margin:0 0 16px">${inner}</p>`);
    } else if ('button' in b) {
      const href = escapeHtml(b.button.href);
      body.push(
        `<p style="margin:24px 0"><a href="${href}" style="display:inline-block;padding:10px 18px;background:#2563eb;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">${escapeHtml(b.button.label)}</a></p>`,
        `<p style="margin:0 0 16px;font-size:13px;color:#555555">If the button does not work, copy this address into your browser:<br><a href="${href}" style="color:#2563eb;word-break:break-all">${href}</a></p>`,
      );
    } else {
      const rows = b.facts
        .map(
          ([k, v]) =>
            `<tr><td style="padding:4px 16px 4px 0;color:#555555">${escapeHtml(k)}</td><td style="padding:4px 0">${escapeHtml(v)}</td></tr>`,
        )
        .join('');
      body.push(`<table style="margin:0 0 16px;border-collapse:collapse">${rows}</table>`);
    }
  }
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title></head>`,
    '<body style="margin:0;padding:0;background:#f5f5f7">',
    '<div style="max-width:560px;margin:0 auto;padding:32px 24px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#1f2937;background:#ffffff">',
    `<p style="margin:0 0 24px;font-size:18px;font-weight:700">${PRODUCT}</p>`,
    ...body,
    `<p style="margin:32px 0 0;font-size:13px;color:#555555">— The ${PRODUCT} team</p>`,
    '</div></body></html>',
    '',
  ].join('\n');
}

function mail(subject: string, blocks: Block[]): RenderedMail {
  return { subject, text: renderText(blocks), html: renderHtml(subject, blocks) };
}

function notYouBlock(publicUrl: string): Block {
  const base = baseUrl(publicUrl);
  return {
    p: [
      'If this was not you, reset your password now at ',
      { href: `${base}/forgot-password`, label: `${base}/forgot-password` },
      ', then review your sessions and two-factor settings at ',
      { href: `${base}/account/security`, label: `${base}/account/security` },
      '.',
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Account mails with a token link

export function verifyEmail(args: {
  publicUrl: string;
  token: string;
  name?: string;
}): RenderedMail {
  const link = tokenLink(args.publicUrl, '/verify-email', args.token);
  return mail(`Confirm your email address for ${PRODUCT}`, [
    { p: [greeting(args.name)] },
    { p: [`Please confirm that this email address belongs to your ${PRODUCT} account.`] },
    { button: { href: link, label: 'Confirm email address' } },
    // Someone else may have signed up with this address first: telling the owner to ignore it
    // would leave that account to them. A reset proves the mailbox and replaces their password.
    {
      p: [
        'If you did not create this account, someone else used your address: choose "Forgot password" on the log-in page to take it over with a password of your own.',
      ],
    },
  ]);
}

export function passwordReset(args: {
  publicUrl: string;
  token: string;
  minutes: number;
}): RenderedMail {
  const link = tokenLink(args.publicUrl, '/reset-password', args.token);
  return mail(`Reset your ${PRODUCT} password`, [
    { p: ['Hello,'] },
    { p: [`We received a request to reset the password of your ${PRODUCT} account.`] },
    { button: { href: link, label: 'Choose a new password' } },
    {
      p: [
        `This link works once and expires in ${args.minutes} minutes. Resetting your password signs you out everywhere.`,
      ],
    },
    {
      p: [
        'If you did not ask for this, ignore this email: your password stays as it is and nobody can use this link without access to your inbox.',
      ],
    },
  ]);
}

export function invitation(args: {
  publicUrl: string;
  token: string;
  orgName: string;
  inviterName?: string;
  role: string;
  days: number;
}): RenderedMail {
  const link = tokenLink(args.publicUrl, '/accept-invite', args.token);
  const org = oneLine(args.orgName);
  const inviter = args.inviterName === undefined ? '' : oneLine(args.inviterName);
  const role = oneLine(args.role, 40);
  return mail(`You have been invited to join ${oneLine(args.orgName, 60)} on ${PRODUCT}`, [
    { p: ['Hello,'] },
    {
      p: [
        inviter === ''
          ? `You have been invited to join "${org}" on ${PRODUCT} as ${role}.`
          : `${inviter} has invited you to join "${org}" on ${PRODUCT} as ${role}.`,
      ],
    },
    { button: { href: link, label: 'Accept the invitation' } },
    { p: [`This invitation works once and expires in ${args.days} days.`] },
    { p: ['If you were not expecting this invitation, you can ignore this email.'] },
  ]);
}

export function setPassword(args: {
  publicUrl: string;
  token: string;
  orgName: string;
}): RenderedMail {
  const link = tokenLink(args.publicUrl, '/reset-password', args.token, '&new=1');
  const org = oneLine(args.orgName);
  return mail(`Your ${PRODUCT} account is ready: choose a password`, [
    { p: ['Hello,'] },
    { p: [`An administrator of "${org}" has created a ${PRODUCT} account for you.`] },
    { p: ['To sign in for the first time, choose your password:'] },
    { button: { href: link, label: 'Choose a password' } },
    { p: ['This link works once. If it has expired, ask your administrator for a new one.'] },
    { p: ['If you were not expecting this account, you can ignore this email.'] },
  ]);
}

export function welcome(args: { publicUrl: string; name?: string }): RenderedMail {
  const base = baseUrl(args.publicUrl);
  return mail(`Welcome to ${PRODUCT}`, [
    { p: [greeting(args.name)] },
    { p: [`Your ${PRODUCT} account is ready. You can sign in at any time:`] },
    { button: { href: `${base}/login`, label: `Sign in to ${PRODUCT}` } },
    {
      p: [
        'We recommend turning on two-factor authentication in your security settings: ',
        { href: `${base}/account/security`, label: `${base}/account/security` },
        '.',
      ],
    },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Security notices: what happened, when, and what to do if it was not the account owner.

interface NoticeArgs {
  publicUrl: string;
  name?: string;
  at: Date;
}

function notice(subject: string, what: string, args: NoticeArgs, facts: [string, string][] = []) {
  return mail(subject, [
    { p: [greeting(args.name)] },
    { p: [what] },
    { facts: [['When', formatTime(args.at)], ...facts] },
    { p: ['If this was you, there is nothing more to do.'] },
    notYouBlock(args.publicUrl),
  ]);
}

export function mfaEnabled(args: NoticeArgs): RenderedMail {
  return notice(
    `Two-factor authentication was turned on for your ${PRODUCT} account`,
    `Two-factor authentication was turned on for your ${PRODUCT} account. From now on, signing in needs a code from your authenticator app or one of your backup codes.`,
    args,
  );
}

export function mfaDisabled(args: NoticeArgs): RenderedMail {
  return notice(
    `Two-factor authentication was turned off for your ${PRODUCT} account`,
    `Two-factor authentication was turned off for your ${PRODUCT} account. Signing in now needs only your password.`,
    args,
  );
}

export function backupCodesRegenerated(args: NoticeArgs): RenderedMail {
  return notice(
    `New backup codes were generated for your ${PRODUCT} account`,
    `A new set of two-factor backup codes was generated for your ${PRODUCT} account. Your previous backup codes no longer work.`,
    args,
  );
}

export function passwordChanged(args: NoticeArgs): RenderedMail {
  return notice(
    `Your ${PRODUCT} password was changed`,
    `The password of your ${PRODUCT} account was changed, and your other sessions were signed out.`,
    args,
  );
}

export function passwordWasReset(args: NoticeArgs): RenderedMail {
  return notice(
    `Your ${PRODUCT} password was reset`,
    `The password of your ${PRODUCT} account was reset with a link sent to this address, and every session was signed out.`,
    args,
  );
}

export function newDeviceLogin(args: NoticeArgs & { userAgent: string; ip: string }): RenderedMail {
  return notice(
    `New sign-in to your ${PRODUCT} account`,
    `Your ${PRODUCT} account was signed in to from a device or location we have not seen before.`,
    args,
    [
      ['Device', oneLine(args.userAgent, 200) || 'unknown'],
      ['IP address', oneLine(args.ip, 64) || 'unknown'],
    ],
  );
}
