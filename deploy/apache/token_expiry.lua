-- X-Token-Expires-At for the upstream in the form every gateway example hands it: RFC 3339
-- in UTC, as the service's /oauth2/forward-auth sends it. Apache's modules only have
-- introspection's `exp` claim (Unix seconds) and mod_headers cannot format a time, so this
-- fixup owns the header: it drops whatever the client sent and, when the token expires,
-- writes the expiry. A token that never expires has no `exp`: the header stays absent.

function expires_at(r)
  r.headers_in["X-Token-Expires-At"] = nil
  local exp = tonumber(r.subprocess_env["OAUTH2_CLAIM_exp"] or r.subprocess_env["OIDC_CLAIM_exp"] or "")
  if exp then
    r.headers_in["X-Token-Expires-At"] = os.date("!%Y-%m-%dT%H:%M:%SZ", exp)
  end
  return apache2.DECLINED
end
