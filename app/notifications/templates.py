"""The notification emails, as plain text: pure functions from facts to a subject and a body.

Every mail names the integration, the token(s) by name and hint, when it happened and who
did it, and says what to do next. None ever contains a secret: the functions only receive
facts of stored rows, and the store holds no secret.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.notifications.facts import IntegrationFacts, TokenFacts

PRODUCT = "Global Integrations"
SUBJECT_PREFIX = f"[{PRODUCT}]"
MAX_LISTED_TOKENS = 50
SUBJECT_MAX_LENGTH = 300

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")

IF_UNEXPECTED = (
    "If you did not expect this, tell the administrators of the Global Integrations "
    "service and review the integration's audit trail."
)


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _one_line(text: str) -> str:
    """Names go into headers: no line breaks (header injection) or other control characters."""
    return _CONTROL_CHARACTERS.sub(" ", text).strip()


def _subject(integration: IntegrationFacts, what: str) -> str:
    subject = f'{SUBJECT_PREFIX} "{_one_line(integration.name)}": {what}'
    if len(subject) > SUBJECT_MAX_LENGTH:
        subject = subject[: SUBJECT_MAX_LENGTH - 1] + "…"
    return subject


def _token_label(token: TokenFacts) -> str:
    return f'"{_one_line(token.name)}" ({token.hint})'


def _expiry(token: TokenFacts) -> str:
    return "never" if token.expires_at is None else when(token.expires_at)


def _remaining(delta: timedelta) -> str:
    hours = max(round(delta.total_seconds() / 3600), 1)
    if hours < 36:
        return f"about {hours} hour{'s' if hours != 1 else ''}"
    return f"about {round(hours / 24)} days"


def _facts(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows) + 1
    return "\n".join(f"  {label + ':':<{width}} {value}" for label, value in rows)


def _token_list(tokens: Sequence[TokenFacts], count: int) -> str:
    """The first ``MAX_LISTED_TOKENS`` of ``count`` tokens (``tokens`` may hold only those)."""
    lines = [f"  - {_token_label(t)}, id {t.id}" for t in tokens[:MAX_LISTED_TOKENS]]
    if count > MAX_LISTED_TOKENS:
        lines.append(f"  … and {count - MAX_LISTED_TOKENS} more (see the audit trail)")
    return "\n".join(lines)


def _wrap(text: str) -> str:
    """Paragraphs at 76 columns; ids and hints are never split (no breaks at hyphens)."""
    lines = []
    for line in text.splitlines():
        indent = "   " if re.match(r"\d\. ", line) else ""
        lines.append(
            textwrap.fill(
                line,
                width=76,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


def _body(integration: IntegrationFacts, *, lead: str, facts: str, next_steps: str) -> str:
    footer = (
        "You receive this email because it is the notification address of the "
        f'integration "{_one_line(integration.name)}" in the {PRODUCT} service. '
        "It never contains a token's secret: never send a secret in reply to it."
    )
    return (
        f"Hello,\n\n{_wrap(lead)}\n\n{facts}\n\n"
        f"What to do next\n{_wrap(next_steps)}\n\n-- \n{_wrap(footer)}\n"
    )


def _integration_facts(integration: IntegrationFacts) -> list[tuple[str, str]]:
    return [("Integration", f'"{_one_line(integration.name)}" (id {integration.id})')]


def token_issued(
    integration: IntegrationFacts, token: TokenFacts, *, actor: str, at: datetime
) -> Mail:
    return Mail(
        _subject(integration, f'new access token "{_one_line(token.name)}" issued'),
        _body(
            integration,
            lead=f"A new access token {_token_label(token)} was issued for this integration.",
            facts=_facts(
                [
                    *_integration_facts(integration),
                    ("Token", f"{_token_label(token)}, id {token.id}"),
                    ("Expires", _expiry(token)),
                    ("When", when(at)),
                    ("By", actor),
                ]
            ),
            next_steps=(
                "The secret was shown once, to the person who issued the token; store it in "
                "your application's secret store. If nobody on your team asked for this "
                "token, have it revoked at once. " + IF_UNEXPECTED
            ),
        ),
    )


def token_regenerated(
    integration: IntegrationFacts,
    old: TokenFacts,
    new: TokenFacts,
    *,
    actor: str,
    at: datetime,
) -> Mail:
    return Mail(
        _subject(integration, f'access token "{_one_line(old.name)}" regenerated'),
        _body(
            integration,
            lead=(
                f"The access token {_token_label(old)} was regenerated: it stopped working "
                f"and was replaced by a new token with the hint {new.hint}."
            ),
            facts=_facts(
                [
                    *_integration_facts(integration),
                    ("Old token", f"{_token_label(old)}, id {old.id} (revoked)"),
                    ("New token", f"{_token_label(new)}, id {new.id}"),
                    ("New expiry", _expiry(new)),
                    ("When", when(at)),
                    ("By", actor),
                ]
            ),
            next_steps=(
                f"Put the new secret (hint {new.hint}) into every application that used the "
                f"old one (hint {old.hint}); requests with the old secret are refused from now "
                "on. " + IF_UNEXPECTED
            ),
        ),
    )


def token_revoked(
    integration: IntegrationFacts, token: TokenFacts, *, actor: str, at: datetime
) -> Mail:
    return Mail(
        _subject(integration, f'access token "{_one_line(token.name)}" revoked'),
        _body(
            integration,
            lead=f"The access token {_token_label(token)} was revoked.",
            facts=_facts(
                [
                    *_integration_facts(integration),
                    ("Token", f"{_token_label(token)}, id {token.id}"),
                    ("When", when(at)),
                    ("By", actor),
                ]
            ),
            next_steps=(
                "Requests with this token are refused from now on. If an application still "
                "needs access, issue a new token and put its secret into that application. "
                + IF_UNEXPECTED
            ),
        ),
    )


def tokens_revoked(
    integration: IntegrationFacts,
    tokens: Sequence[TokenFacts],
    *,
    actor: str,
    at: datetime,
    count: int | None = None,
) -> Mail:
    """``count`` (default: ``len(tokens)``) when ``tokens`` holds only the first ones."""
    count = len(tokens) if count is None else count
    return _summary(
        integration,
        tokens,
        count,
        subject=f"{count} access token{'s' if count != 1 else ''} revoked",
        lead=f"{count} access token{'s were' if count != 1 else ' was'} revoked at once:",
        by=("By", actor),
        at=at,
        next_steps=(
            "Requests with these tokens are refused from now on. If an application still "
            "needs access, issue a new token for it and put the new secret into it. "
            + IF_UNEXPECTED
        ),
    )


def tokens_leaked(
    integration: IntegrationFacts,
    tokens: Sequence[TokenFacts],
    *,
    actor: str,
    at: datetime,
    count: int | None = None,
) -> Mail:
    count = len(tokens) if count is None else count
    return _summary(
        integration,
        tokens,
        count,
        subject=f"{count} leaked access token{'s' if count != 1 else ''} revoked",
        lead=(
            f"The secret{'s' if count != 1 else ''} of {count} access "
            f"token{'s' if count != 1 else ''} of this integration "
            f"{'were' if count != 1 else 'was'} reported as leaked (found where "
            f"{'they' if count != 1 else 'it'} must not be, for example in a public "
            "repository or a log), so the "
            f"token{'s were' if count != 1 else ' was'} revoked at once:"
        ),
        by=("Reported by", actor),
        at=at,
        next_steps=(
            "1. Issue a new token for every application that used a revoked one and put "
            "the new secret into it; requests with the leaked secrets are refused.\n"
            "2. Find out where the secret was exposed and remove it from there (and from "
            "any history, such as old commits or build logs).\n"
            "3. Review the integration's audit trail and your application's logs for "
            "activity you do not recognise."
        ),
    )


def _summary(
    integration: IntegrationFacts,
    tokens: Sequence[TokenFacts],
    count: int,
    *,
    subject: str,
    lead: str,
    by: tuple[str, str],
    at: datetime,
    next_steps: str,
) -> Mail:
    """One notice about many tokens: the list first, then when and who."""
    return Mail(
        _subject(integration, subject),
        _body(
            integration,
            lead=lead,
            facts=_token_list(tokens, count)
            + "\n\n"
            + _facts([*_integration_facts(integration), ("When", when(at)), by]),
            next_steps=next_steps,
        ),
    )


def integration_deactivated(
    integration: IntegrationFacts, *, actor: str, at: datetime
) -> Mail:
    return Mail(
        _subject(integration, "integration deactivated"),
        _body(
            integration,
            lead=(
                "This integration was deactivated: every one of its access tokens is "
                "refused until it is activated again."
            ),
            facts=_facts([*_integration_facts(integration), ("When", when(at)), ("By", actor)]),
            next_steps=(
                "Applications using this integration's tokens cannot reach the Global API "
                "now. When the integration is activated again, its tokens that are neither "
                "revoked nor expired work again. " + IF_UNEXPECTED
            ),
        ),
    )


def integration_reactivated(
    integration: IntegrationFacts, *, actor: str, at: datetime
) -> Mail:
    return Mail(
        _subject(integration, "integration activated again"),
        _body(
            integration,
            lead=(
                "This integration was activated again: its access tokens that are neither "
                "revoked nor expired are accepted again."
            ),
            facts=_facts([*_integration_facts(integration), ("When", when(at)), ("By", actor)]),
            next_steps=(
                "Nothing, if this was planned. If a token may have been exposed while the "
                "integration was off, revoke or regenerate it now. " + IF_UNEXPECTED
            ),
        ),
    )


def integration_deleted(
    integration: IntegrationFacts, *, revoked_tokens: int, actor: str, at: datetime
) -> Mail:
    return Mail(
        _subject(integration, "integration deleted"),
        _body(
            integration,
            lead=(
                "This integration was deleted, and all its access tokens were revoked "
                f"({revoked_tokens} not revoked before)."
            ),
            facts=_facts([*_integration_facts(integration), ("When", when(at)), ("By", actor)]),
            next_steps=(
                "Applications using this integration's tokens cannot reach the Global API "
                "any more, and this address receives no further notices about it. If access "
                "is still needed, ask for a new integration. " + IF_UNEXPECTED
            ),
        ),
    )


def token_expiring(
    integration: IntegrationFacts, token: TokenFacts, *, days: int, at: datetime
) -> Mail:
    assert token.expires_at is not None
    period = "1 day" if days == 1 else f"{days} days"
    return _expiry_notice(
        integration,
        token,
        at=at,
        subject=f"expires in {period}",
        lead=(
            f"The access token {_token_label(token)} expires on "
            f"{when(token.expires_at)}, {_remaining(token.expires_at - at)} from now."
        ),
        label="Expires",
        next_steps=(
            "If the token is still in use, regenerate it (or issue a new one) before it "
            "expires, and put the new secret into the applications that use it. If it "
            "is no longer needed, do nothing: it stops working on its own, or revoke it."
        ),
    )


def token_expired(integration: IntegrationFacts, token: TokenFacts, *, at: datetime) -> Mail:
    assert token.expires_at is not None
    return _expiry_notice(
        integration,
        token,
        at=at,
        subject="has expired",
        lead=(
            f"The access token {_token_label(token)} expired on "
            f"{when(token.expires_at)}; requests with it are refused."
        ),
        label="Expired",
        next_steps=(
            "If an application still needs access, regenerate this token (an expired "
            "token may be regenerated) or issue a new one, and put the new secret into "
            "the application. If it is no longer needed, nothing is to be done."
        ),
    )


def _expiry_notice(
    integration: IntegrationFacts,
    token: TokenFacts,
    *,
    at: datetime,
    subject: str,
    lead: str,
    label: str,
    next_steps: str,
) -> Mail:
    """The expiry scan's notices: before a token expires, and once it has."""
    assert token.expires_at is not None
    return Mail(
        _subject(integration, f'access token "{_one_line(token.name)}" {subject}'),
        _body(
            integration,
            lead=lead,
            facts=_facts(
                [
                    *_integration_facts(integration),
                    ("Token", f"{_token_label(token)}, id {token.id}"),
                    (label, when(token.expires_at)),
                    ("Checked", when(at)),
                    ("By", "the automatic expiry check"),
                ]
            ),
            next_steps=next_steps,
        ),
    )
