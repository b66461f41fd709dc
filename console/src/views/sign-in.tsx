/**
 * Sign-in with an API key or an access token of a configured OpenID Connect issuer (a JWT: the API
 * gate tells them apart), checked against /api/v1/status before it is kept (sessionStorage only).
 */

import { createWnmClient } from '@wnm/client';
import { useState } from 'preact/hooks';
import { ApiError, session } from '../api.ts';

export function SignIn() {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const candidate = createWnmClient({ baseUrl: location.origin, token: key.trim() });
      const { response: res } = await candidate.GET('/api/v1/status');
      if (!res.ok)
        throw new ApiError(
          res.status,
          res.statusText,
          res.status === 401
            ? 'Not a live API key or token.'
            : res.status === 403
              ? 'This token is valid but not allowed here (its tenant or role).'
              : `The API answered ${res.status}.`,
        );
      session.signIn(key);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>Water network console</h1>
      <form onSubmit={submit}>
        <label for="key">API key or access token</label>
        <input
          id="key"
          name="key"
          type="password"
          autoComplete="off"
          placeholder="wnm_… or a JWT"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          required
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error ? (
          <p role="alert" class="error">
            {error}
          </p>
        ) : null}
        <p class="hint">
          The key or token is kept for this browser tab only (a token until it expires).{' '}
          <code>npm start</code> prints a link that signs in with its development key;{' '}
          <code>npm run keys -- create</code> makes others.
        </p>
      </form>
    </main>
  );
}
