/**
 * The platform admins' room (`/v1/connect` without a tenant), followed while the platform
 * dashboard is open: a tenant's `sync-status` frame (`scope: "tenant"`, sent when that
 * tenant's status class or open-item counts change) updates the tenant table at once; the
 * platform's (after each health check) refetches the snapshot.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { STATUS_QUERY_KEY } from '@cascade/react';
import { authProtocols } from '@cascade/client';

/** A tenant's status as its hub last reported it to the room. */
export interface LiveTenantStatus {
  tenant: string;
  status: string;
  seq: number;
  platformSeq: number;
  pendingChanges: number;
  openConflicts: number;
  /** When the frame arrived (ms). */
  at: number;
}

const HEARTBEAT_MS = 25_000;
const RETRY_MS = 2_000;

/** `ws(s)://…/v1/connect` for the page's origin. */
function roomUrl(baseUrl: string): string {
  const url = new URL('/v1/connect', baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** Follows the room with `token`; returns the live tenant statuses and whether it is connected. */
export function usePlatformRoom(baseUrl: string, token: string) {
  const queryClient = useQueryClient();
  const [live, setLive] = useState<Record<string, LiveTenantStatus>>({});
  const [open, setOpen] = useState(false);

  useEffect(() => {
    let socket: WebSocket | undefined;
    let heartbeat: ReturnType<typeof setInterval> | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const connect = () => {
      socket = new WebSocket(roomUrl(baseUrl), authProtocols(token));
      socket.onopen = () => {
        setOpen(true);
        heartbeat = setInterval(() => socket?.send('{"type":"ping"}'), HEARTBEAT_MS);
      };
      socket.onmessage = (event) => {
        let frame: Record<string, unknown>;
        try {
          frame = JSON.parse(String(event.data)) as Record<string, unknown>;
        } catch {
          return;
        }
        if (frame.type !== 'sync-status') return;
        if (frame.scope === 'platform') {
          void queryClient.invalidateQueries({ queryKey: STATUS_QUERY_KEY });
        } else if (frame.scope === 'tenant' && typeof frame.tenant === 'string') {
          const status = { ...(frame as unknown as LiveTenantStatus), at: Date.now() };
          setLive((all) => ({ ...all, [status.tenant]: status }));
        }
      };
      socket.onclose = () => {
        setOpen(false);
        clearInterval(heartbeat);
        if (!stopped) retry = setTimeout(connect, RETRY_MS);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      clearInterval(heartbeat);
      socket?.close(1000, 'dashboard closed');
    };
  }, [baseUrl, token, queryClient]);

  return { live, open };
}
