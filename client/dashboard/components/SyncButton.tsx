/** Manual sync of one tenant (`POST /v1/tenants/{t}/sync`), with its result next to the button. */
import { useApi } from '../api.js';
import { FeedbackLine, useOperation } from '../operation.js';
import { useRefreshTenant } from '../queries.js';

/** "Sync now" for `tenant`; says how many platform updates were applied. */
export function SyncButton(props: { tenant: string; compact?: boolean }) {
  const { http } = useApi();
  const refresh = useRefreshTenant();
  const { busy, feedback, run } = useOperation();
  const sync = () =>
    run('sync', async () => {
      const ack = await http.syncTenant(props.tenant);
      await refresh(props.tenant);
      const what = ack.applied === 0 ? 'already up to date' : `applied ${ack.applied} platform update${ack.applied === 1 ? '' : 's'}`;
      return `Synced ${props.tenant}: ${what} (platform seq ${ack.platformSeq}).`;
    });
  return (
    <span className="sync-button" onClick={(e) => e.stopPropagation()}>
      <button
        className={props.compact ? 'secondary small' : undefined}
        onClick={() => void sync()}
        disabled={busy !== undefined}
        aria-label={`Sync ${props.tenant}`}
        data-testid={`sync-${props.tenant}`}
      >
        {busy ? 'Syncing…' : 'Sync now'}
      </button>
      <FeedbackLine feedback={feedback} testId={`sync-result-${props.tenant}`} />
    </span>
  );
}
