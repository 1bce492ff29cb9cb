"""The pure parts of notifications: which expiry warning is due, and the mail texts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.integrations.models import Integration
from app.notifications import templates
from app.notifications.expiry import band_for
from app.notifications.sender import PendingMail, build_email
from app.notifications.service import NoticeKind
from app.tokens.models import AccessToken, ExpirationPolicy

NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


def token(
    *, lifetime: timedelta | None, remaining: timedelta | None, name: str = "ci"
) -> AccessToken:
    expires_at = None if remaining is None else NOW + remaining
    created_at = (
        NOW - timedelta(days=1) if expires_at is None or lifetime is None else expires_at - lifetime
    )
    return AccessToken(
        id=uuid.uuid4(),
        integration_id=uuid.uuid4(),
        name=name,
        hint="ssg_Ab12…9xYz",
        expiration_policy=ExpirationPolicy.CUSTOM,
        created_at=created_at,
        expires_at=expires_at,
    )


@pytest.mark.parametrize(
    ("lifetime", "remaining", "expected"),
    [
        (timedelta(days=90), timedelta(days=8), None),
        (timedelta(days=90), timedelta(days=7), (NoticeKind.TOKEN_EXPIRES_IN_7_DAYS, "7d")),
        (timedelta(days=90), timedelta(days=2), (NoticeKind.TOKEN_EXPIRES_IN_7_DAYS, "7d")),
        (timedelta(days=90), timedelta(days=1), (NoticeKind.TOKEN_EXPIRES_IN_1_DAY, "1d")),
        (timedelta(days=90), timedelta(minutes=1), (NoticeKind.TOKEN_EXPIRES_IN_1_DAY, "1d")),
        (timedelta(days=90), timedelta(0), (NoticeKind.TOKEN_EXPIRED, "expired")),
        (timedelta(days=90), timedelta(days=-3), (NoticeKind.TOKEN_EXPIRED, "expired")),
        # Born inside a band: that band's warning would only repeat the issue notice.
        (timedelta(days=7), timedelta(days=6), None),
        (timedelta(days=7), timedelta(hours=23), (NoticeKind.TOKEN_EXPIRES_IN_1_DAY, "1d")),
        (timedelta(hours=12), timedelta(hours=6), None),
        (timedelta(hours=12), timedelta(hours=-1), (NoticeKind.TOKEN_EXPIRED, "expired")),
        (None, None, None),  # never expires
    ],
)
def test_band_for(
    lifetime: timedelta | None,
    remaining: timedelta | None,
    expected: tuple[NoticeKind, str] | None,
) -> None:
    assert band_for(token(lifetime=lifetime, remaining=remaining), NOW) == expected


def every_mail(integration: Integration, tok: AccessToken) -> list[templates.Mail]:
    other = token(lifetime=timedelta(days=30), remaining=timedelta(days=30), name="other")
    return [
        templates.token_issued(integration, tok, actor="admin:alice", at=NOW),
        templates.token_regenerated(integration, tok, other, actor="admin:alice", at=NOW),
        templates.token_revoked(integration, tok, actor="admin:alice", at=NOW),
        templates.tokens_revoked(integration, [tok, other], actor="admin:alice", at=NOW),
        templates.tokens_leaked(integration, [tok], actor="admin:alice", at=NOW),
        templates.integration_deactivated(integration, actor="admin:alice", at=NOW),
        templates.integration_reactivated(integration, actor="admin:alice", at=NOW),
        templates.integration_deleted(integration, revoked_tokens=2, actor="admin:alice", at=NOW),
        templates.token_expiring(integration, tok, days=7, at=NOW),
        templates.token_expiring(integration, tok, days=1, at=NOW),
        templates.token_expired(integration, tok, at=NOW),
    ]


def test_every_mail_says_what_to_do_and_has_a_one_line_subject() -> None:
    integration = Integration(
        id=uuid.uuid4(), name="Evil\r\nBcc: x@example.com " + "n" * 400, notification_email="a@b.c"
    )
    tok = token(lifetime=timedelta(days=30), remaining=timedelta(days=5), name="line\nbreak")
    for mail in every_mail(integration, tok):
        assert "\n" not in mail.subject
        assert "\r" not in mail.subject
        assert len(mail.subject) <= templates.SUBJECT_MAX_LENGTH
        assert "What to do next" in mail.body
        assert str(integration.id) in mail.body
        message = build_email(
            PendingMail(uuid.uuid4(), "a@b.c", mail.subject, mail.body, NOW, 0),
            mail_from="Global Integrations <gi@example.com>",
        )
        assert message["Bcc"] is None
        assert message["Message-ID"].endswith("@example.com>")


def test_a_mass_revoke_summary_lists_at_most_fifty_tokens() -> None:
    integration = Integration(id=uuid.uuid4(), name="Big", notification_email="a@b.c")
    many = [
        token(lifetime=timedelta(days=30), remaining=timedelta(days=5), name=f"t{n}")
        for n in range(60)
    ]
    mail = templates.tokens_revoked(integration, many, actor="admin:alice", at=NOW)
    assert "60 access tokens revoked" in mail.subject
    assert mail.body.count("  - ") == templates.MAX_LISTED_TOKENS
    assert "and 10 more" in mail.body
