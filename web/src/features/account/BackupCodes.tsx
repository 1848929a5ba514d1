// The 10 backup codes, shown once: copy them or download them as a text file.
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { CopyButton } from '../../components/CopyButton.tsx';

function download(codes: string[], email: string) {
  const text = [
    'Switchboard backup codes',
    `Account: ${email}`,
    `Created: ${new Date().toISOString()}`,
    '',
    'Each code works once, in place of a code from your authenticator app.',
    '',
    ...codes,
    '',
  ].join('\n');
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = 'switchboard-backup-codes.txt';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function BackupCodes({
  codes,
  email,
  onDone,
}: {
  codes: string[];
  email: string;
  onDone: () => void;
}) {
  return (
    <div className="space-y-4">
      <Alert tone="warning" title="Save your backup codes now">
        They are shown only this once. If you lose your phone, each code lets you log in one time.
        Keep them somewhere safe, like a password manager.
      </Alert>
      <ol
        aria-label="Backup codes"
        className="grid grid-cols-2 gap-2 rounded-lg bg-slate-50 p-4 font-mono text-sm text-slate-900 ring-1 ring-slate-200 sm:grid-cols-5"
      >
        {codes.map((c) => (
          <li key={c} className="rounded bg-white px-2 py-1 text-center ring-1 ring-slate-200">
            {c}
          </li>
        ))}
      </ol>
      <div className="flex flex-wrap gap-2">
        <CopyButton
          text={codes.join('\n')}
          label="Copy codes"
          what="Backup codes copied"
          size="md"
        />
        <Button variant="secondary" onClick={() => download(codes, email)}>
          Download .txt
        </Button>
        <Button onClick={onDone}>I have saved my codes</Button>
      </div>
    </div>
  );
}
