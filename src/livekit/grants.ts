// What a room token lets its holder do, from the permission table (src/access/permissions.ts):
// everyone with `livekit:join` joins, publishes, subscribes and sends data in the one room the
// token names; `livekit:room_admin` (owners, admins, managers; never an API key) adds `roomAdmin`
// for that room. No one may change their own metadata or attributes: the agent reads the user's
// context from them.
import type { VideoGrant } from 'livekit-server-sdk';
import { can, requirePermission } from '../access/permissions.ts';
import type { Principal } from '../access/principal.ts';

export function roomGrant(p: Principal, room: string): VideoGrant {
  requirePermission(p, 'livekit:join');
  return {
    room,
    roomJoin: true,
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
    canUpdateOwnMetadata: false,
    ...(can(p, 'livekit:room_admin') ? { roomAdmin: true } : {}),
  };
}
