/**
 * The operator console: sign-in with an API key (sessionStorage only; `#key=…` in the URL signs in
 * and is removed at once, which is how `npm start` prints a link that opens signed in), a navigation
 * of views, and hash routes (#/, #/node/ID, #/anomalies, …). Every figure comes from /api/v1.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, call, onSessionChange, session } from './api.ts';
import { useLoad } from './hooks.ts';
import './styles.css';
import type { Status } from './types.ts';
import { AnalyticsView } from './views/analytics.tsx';
import { AnomaliesView } from './views/anomalies.tsx';
import { EfficiencyView } from './views/efficiency.tsx';
import { NodeView } from './views/node.tsx';
import { OverviewView } from './views/overview.tsx';
import { PerformanceView } from './views/performance.tsx';
import { QualityView } from './views/quality.tsx';
import { SignIn } from './views/sign-in.tsx';

const VIEWS = [
  ['', 'Overview'],
  ['anomalies', 'Anomalies'],
  ['efficiency', 'Network efficiency'],
  ['quality', 'Water quality'],
  ['patterns', 'Consumption patterns'],
  ['reports', 'Reports'],
  ['performance', 'Performance'],
] as const;

function takeKeyFromUrl() {
  const m = /^#key=([^&]+)/.exec(location.hash);
  if (!m) return;
  session.signIn(decodeURIComponent(m[1]!));
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}

function useRoute(): string[] {
  const parse = () =>
    (location.hash.replace(/^#\/?/, '').split('?')[0] ?? '').split('/').map(decodeURIComponent);
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function Shell() {
  const route = useRoute();
  const status = useLoad((signal) => call(api.GET('/api/v1/status', { signal })) as Promise<Status>, [], {
    pollMs: 30_000,
  });
  const role = status.data?.caller?.role ?? 'reader';
  const canAct = role === 'operator' || role === 'admin';
  const view = route[0] ?? '';
  useEffect(() => {
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [view, route[1]]);
  let body = null;
  if (view === '') body = <OverviewView status={status.data} />;
  else if (view === 'node' && route[1]) body = <NodeView id={route[1]} />;
  else if (view === 'anomalies') body = <AnomaliesView canAct={canAct} />;
  else if (view === 'efficiency') body = <EfficiencyView />;
  else if (view === 'quality') body = <QualityView />;
  else if (view === 'patterns' || view === 'reports')
    body = <AnalyticsView key={view} kind={view} />; // keyed: Reports never shows the Patterns answer
  else if (view === 'performance') body = <PerformanceView status={status.data} reload={status.reload} />;
  else
    body = (
      <p>
        No such view. <a href="#/">Back to the overview</a>
      </p>
    );
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <h1>Water network console</h1>
        <nav aria-label="Views">
          <ul>
            {VIEWS.map(([path, name]) => (
              <li key={path}>
                <a href={`#/${path}`} aria-current={view === path ? 'page' : undefined}>
                  {name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {status.data?.caller ? (
            <span data-role={role}>
              {status.data.caller.tenantId} · {role}
            </span>
          ) : null}
          <button type="button" onClick={() => session.signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1} data-route={route.join('/')}>
        {body}
      </main>
    </>
  );
}

function App() {
  const [key, setKey] = useState(session.key());
  useEffect(() => onSessionChange(() => setKey(session.key())), []);
  return key ? <Shell /> : <SignIn />;
}

takeKeyFromUrl();
const root = document.getElementById('app')!;
root.textContent = ''; // the boot message
render(<App />, root);
