/** Sign-in with a pasted JWT. */
import { useState, type FormEvent } from 'react';
import { CascadeHttp } from '@cascade/client';
import { errorText } from '../format.js';
import { sessionFromToken, type Session } from '../session.js';

/** Checks the token's claims and that the API accepts it, then signs in. */
export function SignIn(props: { baseUrl: string; onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const session = sessionFromToken(token);
      const http = new CascadeHttp({ baseUrl: props.baseUrl, token: session.token });
      if (session.role === 'platform-admin') await http.listTenants();
      else if (session.tenant) await http.getConfig(session.tenant, 'business');
      props.onSignedIn(session);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <form onSubmit={submit} className="card">
        <h1>Cascade</h1>
        <p className="muted">Sign in with an access token (JWT). For a local runtime: <code>scripts/token platform-admin</code>.</p>
        <label htmlFor="token">Access token</label>
        <textarea
          id="token"
          rows={5}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder="eyJhbGciOiJIUzI1NiIs…"
          spellCheck={false}
        />
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
