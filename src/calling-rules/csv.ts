// The do-not-call CSV format: one number a line, `number,reason` (reason optional), an optional
// header line `number,reason`, blank lines ignored. Fields may be quoted ("…", "" for a quote);
// a field never spans lines. Pure: the service decides what to do with the result.
import { codePointLength } from '../infra/text.ts';

export const E164_RE = /^\+[1-9][0-9]{6,14}$/;
export const MAX_CSV_LINES = 5000;
export const MAX_REASON_LENGTH = 500;

/**
 * What is wrong with a reason (too long, control characters), or null. Its length is in characters
 * (code points), as the OpenAPI document's maxLength (JSON Schema) and the column's CHECK count
 * them, not in UTF-16 units: an emoji is one character, not two.
 */
export function reasonProblem(reason: string): string | null {
  if (codePointLength(reason) > MAX_REASON_LENGTH) {
    return `the reason is longer than ${MAX_REASON_LENGTH} characters`;
  }
  // C0 and C1 controls (a CSI is a terminal escape as much as ESC is) and the Unicode line
  // separators: a reason is one line of text, wherever the list is printed or exported.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\u0000-\u001F\u007F-\u009F\u2028\u2029]/.test(reason)) {
    return 'the reason contains control characters';
  }
  return null;
}

export interface CsvLineError {
  line: number;
  message: string;
}

export type ParsedCsv =
  | {
      ok: true;
      /** Data lines read (not the header, not blank lines). */
      lines: number;
      /** Distinct numbers, first reason kept. */
      entries: { number: string; reason: string }[];
      /** Lines naming a number already named above. */
      duplicates: number;
    }
  | { ok: false; errors: CsvLineError[] };

/** One line's fields, or a message when its quoting is broken. */
function fields(line: string): string[] | string {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let value = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return 'a quoted field is not closed';
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += line[i];
        i++;
      }
      if (i < line.length && line[i] !== ',') return 'text after a closing quote';
    } else {
      const comma = line.indexOf(',', i);
      const end = comma === -1 ? line.length : comma;
      value = line.slice(i, end);
      if (value.includes('"')) return 'a quote inside an unquoted field';
      i = end;
    }
    out.push(value.trim());
    if (i >= line.length) return out;
    i++; // the comma
    if (i === line.length) {
      out.push('');
      return out;
    }
  }
}

export function parseDoNotCallCsv(text: string): ParsedCsv {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const errors: CsvLineError[] = [];
  const entries = new Map<string, string>();
  let data = 0;
  let duplicates = 0;
  let first = true;
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    // The header, when there is one, is the first line that is not blank (blank lines are
    // skipped wherever they are, the first ones too).
    const mayBeHeader = first;
    first = false;
    const f = fields(raw);
    if (typeof f === 'string') {
      errors.push({ line, message: f });
      return;
    }
    if (mayBeHeader && f[0]?.toLowerCase() === 'number') return; // the header
    data++;
    if (data > MAX_CSV_LINES) {
      if (data === MAX_CSV_LINES + 1) {
        errors.push({ line, message: `at most ${MAX_CSV_LINES} numbers per file` });
      }
      return;
    }
    if (f.length > 2) {
      errors.push({ line, message: 'expected 1 or 2 columns: number,reason' });
      return;
    }
    const [number = '', reason = ''] = f;
    if (!E164_RE.test(number)) {
      errors.push({ line, message: 'the number must be in E.164 form, e.g. +14155550100' });
      return;
    }
    const problem = reasonProblem(reason);
    if (problem) {
      errors.push({ line, message: problem });
      return;
    }
    if (entries.has(number)) duplicates++;
    else entries.set(number, reason);
  });
  if (errors.length > 0) return { ok: false, errors };
  if (data === 0) return { ok: false, errors: [{ line: 1, message: 'the file lists no number' }] };
  return {
    ok: true,
    lines: data,
    entries: [...entries].map(([number, reason]) => ({ number, reason })),
    duplicates,
  };
}
