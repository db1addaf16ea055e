/**
 * Change notifications from useRealtimeSync, shown for a while under the tenant's header. They
 * take their own place in the page's flow rather than floating over it, so they never cover
 * the buttons they refer to (or any other).
 */
import { useEffect } from 'react';
import type { ChangeNotification } from '@cascade/client';

/** Shows each notification for `ttlMs`. */
export function Toasts(props: { notifications: ChangeNotification[]; dismiss: (id: string) => void; ttlMs?: number }) {
  const { notifications, dismiss, ttlMs = 8000 } = props;
  useEffect(() => {
    const timers = notifications.map((n) => setTimeout(() => dismiss(n.id), Math.max(0, n.at + ttlMs - Date.now())));
    return () => timers.forEach(clearTimeout);
  }, [notifications, dismiss, ttlMs]);
  return (
    <div className="toasts" aria-live="polite" data-testid="notifications">
      {notifications.slice(0, 4).map((n) => (
        <div key={n.id} className="toast" role="status">
          <strong>{n.title}</strong>
          <span>{n.message}</span>
          <button aria-label="Dismiss" onClick={() => dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
