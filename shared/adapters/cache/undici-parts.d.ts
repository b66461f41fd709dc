/**
 * Types for the undici modules http-agent.ts and upstash-requester.ts import instead of the package's index: the index
 * loads all of undici (fetch, WebSocket, the caches, mocks: about 1 MB bundled), the Agent and the
 * global-dispatcher setter are a third of it. The types are the package's own.
 */
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';

  const AgentClass: typeof Agent;
  export default AgentClass;
}

declare module 'undici/lib/global.js' {
  export { getGlobalDispatcher, setGlobalDispatcher } from 'undici';
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';

  /** Dispatcher#request, called with the dispatcher as `this`. */
  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}
