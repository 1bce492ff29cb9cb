// The signed-in session. The bearer token lives in sessionStorage (this tab only, gone when
// it closes), never in localStorage; everything else lives in memory.
import { useSyncExternalStore } from 'react';
import { createApi, type Me } from './api/client';
import { SESSION_ENDED_MESSAGE } from './api/errors';

const TOKEN_KEY = 'gi.session';

export interface SessionState {
  token: string | null;
  user: Me | null;
  /** Shown on the sign-in page, e.g. "Your session has ended". */
  notice: string | null;
}

function readToken(): string | null {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

let state: SessionState = { token: readToken(), user: null, notice: null };
const listeners = new Set<() => void>();

function set(next: SessionState): void {
  state = next;
  try {
    if (next.token) window.sessionStorage.setItem(TOKEN_KEY, next.token);
    else window.sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the session lives in memory only
  }
  for (const listener of listeners) listener();
}

export const session = {
  get: (): SessionState => state,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  signedIn(token: string, user: Me): void {
    set({ token, user, notice: null });
  },
  setUser(user: Me): void {
    set({ ...state, user });
  },
  /** A 401: back to sign-in with a message. */
  expire(): void {
    if (state.token === null && state.notice) return;
    set({ token: null, user: null, notice: SESSION_ENDED_MESSAGE });
  },
  signedOut(): void {
    set({ token: null, user: null, notice: null });
  },
};

export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.get);
}

export const api = createApi({
  getToken: () => state.token,
  onUnauthorized: () => session.expire(),
});
