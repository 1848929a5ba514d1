// Device names and client ids, as source document 003 defines them: the client id is
// `<last 6 characters of the user id>-<device name>`, the name a sanitised device identifier.
//
// Sanitising (our choice, documented in the README): accents stripped (é → e), lowercased; spaces, `_` and `.` become `-`;
// every other character outside `a-z`, `0-9` and `-` is dropped; runs of `-` collapse to one and
// leading/trailing `-` go; the result is cut to 32 characters. Nothing left (or no name given):
// the name is `device`. So a device is never refused for its name, and two spellings of one name
// ("Kitchen Mic", "kitchen_mic") are one device.

export const DEFAULT_DEVICE_NAME = 'device';
export const DEVICE_NAME_MAX = 32;
/** A sanitised name: what the database CHECK accepts. */
export const DEVICE_NAME_PATTERN = '^[a-z0-9-]{1,32}$';
/** A client id of ours (the route parameter of DELETE /api/devices/{client_id}). */
export const CLIENT_ID_PATTERN = '^[0-9a-z]{6}-[a-z0-9-]{1,32}$';

export function sanitizeDeviceName(raw: string | undefined | null): string {
  if (typeof raw !== 'string') return DEFAULT_DEVICE_NAME;
  const name = raw
    .slice(0, 256)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[\s_.]+/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, DEVICE_NAME_MAX)
    .replace(/-+$/, '');
  return name === '' ? DEFAULT_DEVICE_NAME : name;
}

/** `<last 6 characters of the user id>-<device name>` (user ids are lowercase UUIDs). */
export function clientIdFor(userId: string, deviceName: string): string {
  return `${userId.toLowerCase().slice(-6)}-${deviceName}`;
}
