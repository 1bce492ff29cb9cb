import { useEffect } from 'react';
import { Link, Navigate, NavLink, Route, Routes, useLocation, useNavigate } from 'react-router';
import { unwrap } from './api/client';
import { ApiError } from './api/errors';
import { AuditLog } from './pages/AuditLog';
import { GatewayCredentials } from './pages/GatewayCredentials';
import { IntegrationPage } from './pages/IntegrationPage';
import { Integrations } from './pages/Integrations';
import { LeakedTokens } from './pages/LeakedTokens';
import { NewIntegration } from './pages/NewIntegration';
import { SignIn } from './pages/SignIn';
import { TokenPage } from './pages/TokenPage';
import { api, session, useSession } from './session';
import { Loading, ErrorState } from './components/States';
import { useApi } from './useApi';

export function App() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignIn />} />
      <Route path="*" element={<SignedIn />} />
    </Routes>
  );
}

function SignedIn() {
  const { token, user } = useSession();
  const location = useLocation();
  if (!token) {
    const next = location.pathname + location.search;
    const query = next === '/' ? '' : `?next=${encodeURIComponent(next)}`;
    return <Navigate to={`/sign-in${query}`} replace />;
  }
  if (!user) return <LoadUser />;
  return (
    <>
      <Header />
      <main className="container">
        <Routes>
          <Route path="/" element={<Integrations />} />
          <Route path="/integrations/new" element={<NewIntegration />} />
          <Route path="/integrations/:integrationId" element={<IntegrationPage />} />
          <Route path="/integrations/:integrationId/tokens/:tokenId" element={<TokenPage />} />
          <Route path="/gateway-credentials" element={<GatewayCredentials />} />
          <Route path="/leaked-tokens" element={<LeakedTokens />} />
          <Route path="/audit" element={<AuditLog />} />
          <Route
            path="*"
            element={
              <>
                <h1>Page not found</h1>
                <p>
                  <Link to="/">Go to Global Integrations</Link>
                </p>
              </>
            }
          />
        </Routes>
      </main>
    </>
  );
}

/** A reloaded tab has the token in sessionStorage but not who it belongs to. */
function LoadUser() {
  const me = useApi('me', () => unwrap(api.GET('/api/v1/auth/me')));
  useEffect(() => {
    if (me.data) session.setUser(me.data);
  }, [me.data]);
  if (me.error && !(me.error instanceof ApiError && me.error.status === 401)) {
    return (
      <main className="container">
        <ErrorState error={me.error} onRetry={me.reload} />
      </main>
    );
  }
  return (
    <main className="container">
      <Loading />
    </main>
  );
}

function Header() {
  const { user } = useSession();
  const navigate = useNavigate();

  async function signOut() {
    try {
      await unwrap(api.POST('/api/v1/auth/logout'));
    } catch {
      // the session is dropped here whatever the server said
    }
    session.signedOut();
    navigate('/sign-in', { replace: true });
  }

  return (
    <header className="app-header">
      <nav className="container" aria-label="Main">
        <ul>
          <li>
            <NavLink to="/" end className="brand">
              Global Integrations
            </NavLink>
          </li>
          <li>
            <NavLink to="/gateway-credentials">Gateway credentials</NavLink>
          </li>
          <li>
            <NavLink to="/leaked-tokens">Leaked tokens</NavLink>
          </li>
          <li>
            <NavLink to="/audit">Audit log</NavLink>
          </li>
        </ul>
        <ul>
          <li className="who">
            <span>{user?.username}</span> <span className="role">{user?.role}</span>
          </li>
          <li>
            <button type="button" className="secondary outline" onClick={() => void signOut()}>
              Sign out
            </button>
          </li>
        </ul>
      </nav>
    </header>
  );
}

export function useIsAdmin(): boolean {
  return useSession().user?.role === 'admin';
}
