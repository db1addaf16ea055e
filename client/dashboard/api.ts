/** The dashboard's access to the API: one CascadeHttp per session, shared by context. */
import { createContext, useContext } from 'react';
import { CascadeHttp } from '@cascade/client';
import type { Session } from './session.js';

/** What every signed-in component can reach. */
export interface ApiContextValue {
  http: CascadeHttp;
  session: Session;
  /** Origin of the service (the page's own). */
  baseUrl: string;
}

/** Provided by the signed-in shell. */
export const ApiContext = createContext<ApiContextValue | undefined>(undefined);

/** The API of the signed-in session. */
export function useApi(): ApiContextValue {
  const value = useContext(ApiContext);
  if (!value) throw new Error('useApi outside the signed-in shell');
  return value;
}

/** An API wrapper for `session` against `baseUrl`. */
export function apiFor(session: Session, baseUrl: string): ApiContextValue {
  return { http: new CascadeHttp({ baseUrl, token: session.token }), session, baseUrl };
}
