/** The live connection's state, with a "reconnecting…" indicator. */
import type { ConnectionState } from '@cascade/client';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Offline',
};

/** A small pill: green live, amber (re)connecting, grey offline. */
export function ConnectionBadge(props: { state: ConnectionState; tenant: string; error?: Error }) {
  return (
    <span className={`badge conn-${props.state}`} title={props.error?.message} data-testid="connection">
      {LABELS[props.state]} · {props.tenant}
    </span>
  );
}
