/** Small pieces every view uses: loading and error states, KPI tiles, status badges. */
import type { ComponentChildren } from 'preact';
import { ApiError } from '../api.ts';
import { isMissingRoute, type Loaded } from '../hooks.ts';

export function Loadable<T>(props: {
  state: Loaded<T>;
  what: string;
  missing?: ComponentChildren;
  notFound?: ComponentChildren;
  children: (data: T) => ComponentChildren;
}) {
  const { data, error, loading } = props.state;
  if (error && isMissingRoute(error) && props.missing) return <>{props.missing}</>;
  if (error instanceof ApiError && error.status === 404 && props.notFound) return <>{props.notFound}</>;
  if (error && data === undefined) {
    return (
      <p class="error" role="alert">
        Could not load {props.what}: {error.message}
      </p>
    );
  }
  if (data === undefined)
    return loading ? (
      <p class="muted" aria-busy="true">
        Loading {props.what}…
      </p>
    ) : null;
  return <>{props.children(data)}</>;
}

export function Kpi(props: {
  label: string;
  value: string;
  note?: string | undefined;
  tone?: string | undefined;
}) {
  return (
    <div class="kpi" data-tone={props.tone}>
      <div class="kpi-label">{props.label}</div>
      <div class="kpi-value">{props.value}</div>
      {props.note ? <div class="kpi-note">{props.note}</div> : null}
    </div>
  );
}

export function Badge(props: { tone: string; children: ComponentChildren }) {
  return (
    <span class="badge" data-tone={props.tone}>
      {props.children}
    </span>
  );
}

export const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export function Section(props: { title: string; children: ComponentChildren; id?: string }) {
  const id = props.id ?? `h-${slug(props.title)}`;
  return (
    <section aria-labelledby={id} class="panel">
      <h3 id={id}>{props.title}</h3>
      {props.children}
    </section>
  );
}
