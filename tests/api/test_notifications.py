"""Notification emails: outbox, SMTP delivery, retries, at-least-once, the expiry scan.

Mail goes to a real SMTP server (aiosmtpd) on a loopback port. The session app of the
suite runs no sender (no SMTP is configured in the test environment, so mails stay
queued); each test delivers by calling the sender itself, which keeps them deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, update

from app.apps import create_app, create_introspection_app
from app.config import Settings
from app.db.base import utc_now
from app.integrations.models import Integration
from app.notifications.expiry import scan_expiring_tokens
from app.notifications.models import OutboxMessage
from app.notifications.repository import OutboxRepository
from app.notifications.sender import (
    LogMailer,
    OutboxSender,
    SmtpMailer,
    mailer_for,
    retry_delay,
)
from app.tokens.models import AccessToken
from tests.api.helpers import forbid_server_errors, integration_url, tokens_url
from tests.api.mail import (
    MAIL_FROM,
    Inbox,
    assert_no_secret,
    body_of,
    free_port,
    make_sender,
    outbox,
    pending,
    smtp_server,
    smtp_settings,
)
from tests.fixtures.api import create_integration, issue_token, state

Headers = dict[str, str]
ACTOR = "admin:admin"
CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@pytest.fixture(autouse=True)
def _no_server_errors(client: httpx.AsyncClient) -> None:
    forbid_server_errors(client)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def smtp(port: int, inbox: Inbox) -> Iterator[Inbox]:
    with smtp_server(port, inbox):
        yield inbox


@pytest.fixture
def mail_settings(settings: Settings, port: int) -> Settings:
    return smtp_settings(settings, port)


@pytest.fixture
def sender(app: FastAPI, mail_settings: Settings) -> OutboxSender:
    return make_sender(app, mail_settings)


@pytest.fixture
async def integration(client: httpx.AsyncClient, admin_headers: Headers) -> dict[str, Any]:
    return await create_integration(client, admin_headers, name="Billing bot")


async def deliver(sender: OutboxSender, inbox: Inbox, **kwargs: Any) -> list[Any]:
    """Run the sender once; the mails that arrived during the run."""
    before = len(inbox.messages)
    await sender.send_pending(**kwargs)
    return inbox.messages[before:]


async def drain(sender: OutboxSender, inbox: Inbox) -> None:
    """Deliver whatever is queued and forget it, to look only at what comes next."""
    assert (await sender.send_pending()).failed == 0
    inbox.clear()


def assert_mail_facts(mail: Any, *, integration: dict[str, Any], facts: list[str]) -> str:
    assert mail["To"] == integration["notification_email"]
    assert mail["From"] == MAIL_FROM
    assert mail["Message-ID"]
    assert integration["name"] in mail["Subject"]
    body = body_of(mail)
    for fact in [integration["name"], integration["id"], "What to do next", *facts]:
        assert fact in body, (fact, body)
    return body


async def set_token_times(
    app: FastAPI, token_id: str, *, created_at: datetime, expires_at: datetime | None
) -> None:
    async with state(app).engine.begin() as connection:
        await connection.execute(
            update(AccessToken)
            .where(AccessToken.id == uuid.UUID(token_id))
            .values(created_at=created_at, expires_at=expires_at)
        )


# --- lifecycle mails -----------------------------------------------------------------


async def test_issue_sends_one_mail_with_the_facts_and_no_secret(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    smtp: Inbox,
    sender: OutboxSender,
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"], name="ci")
    token = issued["token"]

    [queued] = await pending(app)
    assert queued.kind == "token.issued"
    assert queued.integration_id == uuid.UUID(integration["id"])
    assert queued.recipient == "ops@example.com"

    [mail] = await deliver(sender, smtp)
    body = assert_mail_facts(
        mail, integration=integration, facts=['"ci"', token["hint"], token["id"], ACTOR]
    )
    assert "expires" in body.lower()
    assert '"ci"' in mail["Subject"]
    assert smtp.recipients == [["ops@example.com"]]
    assert_no_secret([mail], [issued["secret"]])

    assert await deliver(sender, smtp) == []  # sent exactly once
    [row] = await outbox(app)
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.last_error is None


async def test_regenerate_mail_names_the_old_and_the_new_token(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    smtp: Inbox,
    sender: OutboxSender,
) -> None:
    old = await issue_token(client, admin_headers, integration["id"], name="deploy")
    await drain(sender, smtp)
    response = await client.post(
        tokens_url(integration["id"], f"/{old['token']['id']}/regenerate"), headers=admin_headers
    )
    assert response.status_code == 201, response.text
    new = response.json()

    [mail] = await deliver(sender, smtp)
    assert "regenerated" in mail["Subject"]
    assert_mail_facts(
        mail,
        integration=integration,
        facts=[old["token"]["hint"], new["token"]["hint"], new["token"]["id"], ACTOR],
    )
    assert_no_secret([mail], [old["secret"], new["secret"]])


async def test_revoke_sends_one_mail_and_revoking_again_sends_none(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    smtp: Inbox,
    sender: OutboxSender,
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"], name="ci")
    await drain(sender, smtp)
    url = tokens_url(integration["id"], f"/{issued['token']['id']}/revoke")
    assert (await client.post(url, headers=admin_headers)).status_code == 200

    [mail] = await deliver(sender, smtp)
    assert "revoked" in mail["Subject"]
    assert_mail_facts(mail, integration=integration, facts=['"ci"', issued["token"]["hint"], ACTOR])
    assert_no_secret([mail], [issued["secret"]])

    assert (await client.post(url, headers=admin_headers)).status_code == 200
    assert await deliver(sender, smtp) == []


async def test_mass_revoke_sends_one_summary(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    smtp: Inbox,
    sender: OutboxSender,
) -> None:
    issued = [
        await issue_token(client, admin_headers, integration["id"], name=f"worker-{n}")
        for n in range(4)
    ]
    await drain(sender, smtp)
    chosen = issued[:3]
    response = await client.post(
        tokens_url(integration["id"], "/revoke"),
        json={"token_ids": [i["token"]["id"] for i in chosen] + [str(uuid.uuid4())]},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text

    [mail] = await deliver(sender, smtp)
    assert "3 access tokens revoked" in mail["Subject"]
    body = assert_mail_facts(
        mail, integration=integration, facts=[i["token"]["hint"] for i in chosen] + [ACTOR]
    )
    assert issued[3]["token"]["hint"] not in body
    assert_no_secret([mail], [i["secret"] for i in issued])

    response = await client.post(
        tokens_url(integration["id"], "/revoke"), json={"all": True}, headers=admin_headers
    )
    assert response.json()["revoked"] == [issued[3]["token"]["id"]]
    [summary] = await deliver(sender, smtp)
    assert "1 access token revoked" in summary["Subject"]
    assert issued[3]["token"]["hint"] in body_of(summary)

    # Nothing left to revoke: no mail at all.
    response = await client.post(
        tokens_url(integration["id"], "/revoke"), json={"all": True}, headers=admin_headers
    )
    assert response.json()["revoked"] == []
    assert await deliver(sender, smtp) == []


async def test_deactivate_and_reactivate_send_mails_other_changes_do_not(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    smtp: Inbox,
    sender: OutboxSender,
) -> None:
    url = integration_url(integration["id"])

    async def patch(body: dict[str, Any]) -> None:
        response = await client.patch(url, json=body, headers=admin_headers)
        assert response.status_code == 200, response.text

    await patch({"active": False})
    [off] = await deliver(sender, smtp)
    assert "deactivated" in off["Subject"]
    assert_mail_facts(off, integration=integration, facts=[ACTOR])

    await patch({"active": False})  # no change, no mail
    await patch({"description": "reads stock levels"})
    assert await deliver(sender, smtp) == []

    await patch({"active": True})
    [on] = await deliver(sender, smtp)
    assert "activated again" in on["Subject"]
    assert_mail_facts(on, integration=integration, facts=[ACTOR])


async def test_mail_goes_to_the_current_notification_email(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    smtp: Inbox,
    sender: OutboxSender,
) -> None:
    response = await client.patch(
        integration_url(integration["id"]),
        json={"notification_email": "security@example.com", "active": False},
        headers=admin_headers,
    )
    assert response.status_code == 200
    [mail] = await deliver(sender, smtp)
    assert mail["To"] == "security@example.com"
    assert smtp.recipients == [["security@example.com"]]


async def test_delete_sends_a_mail_with_the_number_of_revoked_tokens(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    smtp: Inbox,
    sender: OutboxSender,
) -> None:
    secrets = [
        (await issue_token(client, admin_headers, integration["id"], name=f"t{n}"))["secret"]
        for n in range(2)
    ]
    await drain(sender, smtp)
    response = await client.delete(integration_url(integration["id"]), headers=admin_headers)
    assert response.status_code == 204

    [mail] = await deliver(sender, smtp)
    assert "deleted" in mail["Subject"]
    body = assert_mail_facts(mail, integration=integration, facts=[ACTOR])
    assert "(2 not revoked before)" in " ".join(body.split())
    assert_no_secret([mail], secrets)


async def test_a_refused_change_queues_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    viewer_headers: Headers,
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"])
    before = await outbox(app)
    token_url = tokens_url(integration["id"], f"/{issued['token']['id']}")
    assert (await client.post(f"{token_url}/revoke", headers=viewer_headers)).status_code == 403
    assert (await client.post(f"{token_url}/regenerate", headers=admin_headers)).status_code == 201
    after_regenerate = await outbox(app)
    # The old token is revoked now: a second regenerate is a 409 and rolls back everything.
    assert (await client.post(f"{token_url}/regenerate", headers=admin_headers)).status_code == 409
    response = await client.post(
        tokens_url(str(uuid.uuid4())),
        json={"name": "x", "expiration_policy": "7d"},
        headers=admin_headers,
    )
    assert response.status_code == 404
    assert len(after_regenerate) == len(before) + 1
    assert len(await outbox(app)) == len(after_regenerate)


async def test_a_name_cannot_inject_mail_headers(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    smtp: Inbox,
    sender: OutboxSender,
) -> None:
    evil = "Evil\r\nBcc: victim@example.com"
    refused = await client.post(
        "/api/v1/integrations",
        json={"name": evil, "notification_email": "ops@example.com"},
        headers=admin_headers,
    )
    assert refused.status_code == 422  # the API refuses control characters in names
    # Defence in depth: a name that got into the database some other way is still harmless.
    created = await create_integration(client, admin_headers)
    async with state(app).engine.begin() as connection:
        await connection.execute(
            update(Integration).where(Integration.id == uuid.UUID(created["id"])).values(name=evil)
        )
    await issue_token(client, admin_headers, created["id"])
    [mail] = await deliver(sender, smtp)
    assert mail["Bcc"] is None
    assert "\n" not in mail["Subject"]
    assert smtp.recipients == [["ops@example.com"]]


# --- delivery: retries, at-least-once, the background loop -----------------------------


def test_retry_delay_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 240, 480]
    assert retry_delay(8) == timedelta(hours=1)
    assert retry_delay(10_000) == timedelta(hours=1)


async def test_smtp_down_keeps_the_mail_and_delivers_it_when_smtp_is_back(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    port: int,
    inbox: Inbox,
    sender: OutboxSender,
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"], name="ci")
    start = utc_now()

    report = await sender.send_pending(now=start)  # nobody listens on the port
    assert (report.sent, report.failed) == (0, 1)
    [row] = await outbox(app)
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.last_error is not None
    assert CLASS_NAME.fullmatch(row.last_error)
    assert row.next_attempt_at == start + timedelta(seconds=30)

    report = await sender.send_pending(now=start + timedelta(seconds=10))  # not due yet
    assert (report.sent, report.failed) == (0, 0)

    later = start + timedelta(minutes=1)
    assert (await sender.send_pending(now=later)).failed == 1
    [row] = await outbox(app)
    assert row.attempts == 2
    assert row.next_attempt_at == later + timedelta(minutes=1)  # backed off further

    with smtp_server(port, inbox):
        assert (await sender.send_pending(now=later)).sent == 0  # still waiting its turn
        report = await sender.send_pending(now=later + timedelta(minutes=1))
        assert (report.sent, report.failed) == (1, 0)
        assert (await sender.send_pending(now=later + timedelta(hours=5))).sent == 0
    [mail] = inbox.messages
    assert issued["token"]["hint"] in body_of(mail)
    [row] = await outbox(app)
    assert row.sent_at is not None
    assert row.attempts == 3
    assert row.last_error is None


async def test_a_crash_between_send_and_mark_delivers_again_at_least_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    smtp: Inbox,
    sender: OutboxSender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await issue_token(client, admin_headers, integration["id"], name="ci")

    async def crash(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patched:
        patched.setattr(OutboxRepository, "mark_sent", crash)
        with pytest.raises(RuntimeError):
            await sender.send_pending()
    [first] = smtp.messages  # the SMTP server accepted it...
    [row] = await pending(app)  # ...but it was never marked: nothing is lost
    assert row.attempts == 0

    [second] = await deliver(sender, smtp)  # so it is delivered again, and marked
    assert second["Message-ID"] == first["Message-ID"]  # recognisably the same notice
    assert body_of(second) == body_of(first)
    assert await pending(app) == []
    assert await deliver(sender, smtp) == []


async def test_one_failing_round_leaves_the_rest_for_the_next(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    port: int,
    inbox: Inbox,
    sender: OutboxSender,
) -> None:
    for n in range(3):
        await issue_token(client, admin_headers, integration["id"], name=f"t{n}")
    await sender.send_pending()  # SMTP down: one attempt, then the round stops
    rows = await outbox(app)
    assert sorted(r.attempts for r in rows) == [0, 0, 1]
    with smtp_server(port, inbox):
        await sender.send_pending(now=utc_now() + timedelta(hours=2))
    assert len(inbox.messages) == 3
    assert await pending(app) == []


async def test_management_app_sends_in_the_background(
    settings: Settings,
    admin_headers: Headers,
    port: int,
    smtp: Inbox,
) -> None:
    configured = smtp_settings(settings, port, notification_poll_seconds=0.2)
    application = create_app(configured)
    before = asyncio.all_tasks()
    async with application.router.lifespan_context(application):
        started = asyncio.all_tasks() - before
        names = {task.get_name() for task in started}
        assert {"notification-sender", "notification-expiry-scan"} <= names
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            integration = await create_integration(http, admin_headers, name="Background")
            issued = await issue_token(http, admin_headers, integration["id"], name="bg")
            async with asyncio.timeout(20):
                while not smtp.messages:
                    await asyncio.sleep(0.05)
    [mail] = smtp.messages
    assert issued["token"]["hint"] in body_of(mail)
    assert_no_secret([mail], [issued["secret"]])
    assert all(task.done() for task in started)  # stopped with the app


async def test_introspection_component_sends_no_mail(settings: Settings, port: int) -> None:
    application = create_introspection_app(smtp_settings(settings, port))
    before = asyncio.all_tasks()
    async with application.router.lifespan_context(application):
        started = {task.get_name() for task in asyncio.all_tasks() - before}
    assert started  # the component's own background tasks run...
    assert not {n for n in started if n.startswith("notification-")}  # ...but none of these


async def test_a_failing_round_is_logged_and_the_loop_goes_on(
    app: FastAPI, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds = 0

    async def broken(self: OutboxSender, **_kwargs: Any) -> Any:
        nonlocal rounds
        rounds += 1
        raise ValueError("secret-looking detail that must not be logged")

    monkeypatch.setattr(OutboxSender, "send_pending", broken)
    sender = OutboxSender(state(app).sessionmaker, LogMailer(), mail_from=MAIL_FROM)
    caplog.set_level(logging.WARNING, logger="app.notifications")
    task = asyncio.create_task(sender.run_forever(0.01))
    try:
        async with asyncio.timeout(20):
            while rounds < 3:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert "ValueError" in caplog.text
    assert "secret-looking" not in caplog.text


# --- no SMTP configured ----------------------------------------------------------------


def test_without_smtp_mails_are_logged_in_development_only(settings: Settings) -> None:
    assert isinstance(
        mailer_for(settings.model_copy(update={"environment": "development"})), LogMailer
    )
    assert mailer_for(settings) is None  # test: mails stay queued
    assert mailer_for(settings.model_copy(update={"environment": "production"})) is None
    assert isinstance(mailer_for(smtp_settings(settings, 2525)), SmtpMailer)


async def test_the_log_mailer_writes_the_mail_to_the_log(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    integration: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    issued = await issue_token(client, admin_headers, integration["id"], name="logged")
    caplog.set_level(logging.INFO, logger="app.notifications")
    sender = OutboxSender(state(app).sessionmaker, LogMailer(), mail_from=MAIL_FROM)
    assert (await sender.send_pending()).sent == 1
    assert issued["token"]["hint"] in caplog.text
    assert "ops@example.com" in caplog.text
    assert issued["secret"] not in caplog.text
    assert issued["secret"].split("_", 1)[1] not in caplog.text
    assert await pending(app) == []


# --- the expiry scan -------------------------------------------------------------------


@dataclass(frozen=True)
class Expiring:
    now: datetime
    tokens: dict[str, dict[str, Any]]  # name -> {"token", "secret"}

    def id(self, name: str) -> str:
        return str(self.tokens[name]["token"]["id"])

    @property
    def secrets(self) -> list[str]:
        return [t["secret"] for t in self.tokens.values()]


@pytest.fixture
async def expiring(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: Headers, integration: dict[str, Any]
) -> Expiring:
    """Tokens at every distance from their expiry; ``now`` is the reference time."""
    now = utc_now()
    iid = integration["id"]
    tokens = {
        name: await issue_token(client, admin_headers, iid, name=name, expiration_policy=policy)
        for name, policy in [
            ("in-6-days", "30d"),
            ("in-12-hours", "30d"),
            ("expired-1-hour-ago", "30d"),
            ("expired-long-ago", "30d"),
            ("far-away", "30d"),
            ("issued-for-7-days", "7d"),
            ("never", "never"),
            ("revoked", "30d"),
        ]
    }
    times = {
        "in-6-days": (now - timedelta(days=24), now + timedelta(days=6)),
        "in-12-hours": (now - timedelta(days=29), now + timedelta(hours=12)),
        "expired-1-hour-ago": (now - timedelta(days=30), now - timedelta(hours=1)),
        "expired-long-ago": (now - timedelta(days=60), now - timedelta(days=30)),
        "revoked": (now - timedelta(days=24), now + timedelta(days=6)),
    }
    for name, (created_at, expires_at) in times.items():
        await set_token_times(
            app, tokens[name]["token"]["id"], created_at=created_at, expires_at=expires_at
        )
    revoke = tokens_url(iid, f"/{tokens['revoked']['token']['id']}/revoke")
    assert (await client.post(revoke, headers=admin_headers)).status_code == 200
    # Forget the lifecycle notices: only the warnings are of interest here.
    async with state(app).engine.begin() as connection:
        await connection.execute(delete(OutboxMessage))
    return Expiring(now=now, tokens=tokens)


def expiry_kinds(rows: list[Any]) -> dict[str, str]:
    return {row.dedupe_key: row.kind for row in rows}


async def test_expiry_scan_queues_each_due_warning_once(
    app: FastAPI,
    integration: dict[str, Any],
    expiring: Expiring,
    smtp: Inbox,
    sender: OutboxSender,
) -> None:
    now = expiring.now
    assert await scan_expiring_tokens(state(app).sessionmaker, now=now) == 3
    assert await scan_expiring_tokens(state(app).sessionmaker, now=now) == 0  # idempotent
    ids = {name: expiring.id(name) for name in expiring.tokens}
    assert expiry_kinds(await outbox(app)) == {
        f"expiry:{ids['in-6-days']}:7d": "token.expires_in_7d",
        f"expiry:{ids['in-12-hours']}:1d": "token.expires_in_1d",
        f"expiry:{ids['expired-1-hour-ago']}:expired": "token.expired",
    }

    mails = {mail["Subject"]: mail for mail in await deliver(sender, smtp)}
    assert len(mails) == 3
    by_token = {
        name: next(m for s, m in mails.items() if f'"{name}"' in s)
        for name in ("in-6-days", "in-12-hours", "expired-1-hour-ago")
    }
    assert "expires in 7 days" in by_token["in-6-days"]["Subject"]
    assert "expires in 1 day" in by_token["in-12-hours"]["Subject"]
    assert "has expired" in by_token["expired-1-hour-ago"]["Subject"]
    for name, mail in by_token.items():
        body = assert_mail_facts(
            mail,
            integration=integration,
            facts=[expiring.tokens[name]["token"]["hint"], "regenerate"],
        )
        assert "automatic expiry check" in body
    assert_no_secret(list(mails.values()), expiring.secrets)

    # Time passes: each token crosses its next threshold once, and only once.
    later = now + timedelta(hours=13)
    assert await scan_expiring_tokens(state(app).sessionmaker, now=later) == 1
    assert await scan_expiring_tokens(state(app).sessionmaker, now=later) == 0
    assert await scan_expiring_tokens(state(app).sessionmaker, now=now + timedelta(days=5)) == 1
    # in-6-days has expired by now; issued-for-7-days enters its last day (it skipped the
    # 7-day warning: it was born within 7 days of its expiry).
    assert await scan_expiring_tokens(state(app).sessionmaker, now=now + timedelta(days=6.1)) == 2
    keys = expiry_kinds(await outbox(app))
    assert keys[f"expiry:{ids['in-12-hours']}:expired"] == "token.expired"
    assert keys[f"expiry:{ids['in-6-days']}:1d"] == "token.expires_in_1d"
    assert keys[f"expiry:{ids['in-6-days']}:expired"] == "token.expired"
    assert keys[f"expiry:{ids['issued-for-7-days']}:1d"] == "token.expires_in_1d"
    assert f"expiry:{ids['issued-for-7-days']}:7d" not in keys
    assert not any(ids["revoked"] in k or ids["never"] in k for k in keys)


async def test_concurrent_scans_queue_each_warning_once(app: FastAPI, expiring: Expiring) -> None:
    now = expiring.now
    counts = await asyncio.gather(
        *(scan_expiring_tokens(state(app).sessionmaker, now=now, page_size=2) for _ in range(4))
    )
    assert sum(counts) == 3
    assert len(await outbox(app)) == 3


async def test_expiry_scan_pages_through_many_tokens(app: FastAPI, expiring: Expiring) -> None:
    now = expiring.now
    assert await scan_expiring_tokens(state(app).sessionmaker, now=now, page_size=1) == 3
    assert await scan_expiring_tokens(state(app).sessionmaker, now=now, page_size=1) == 0


async def test_no_expiry_warnings_for_deleted_integrations(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: Headers,
    expiring: Expiring,
    integration: dict[str, Any],
) -> None:
    assert (
        await client.delete(integration_url(integration["id"]), headers=admin_headers)
    ).status_code == 204
    before = len(await outbox(app))
    assert await scan_expiring_tokens(state(app).sessionmaker, now=expiring.now) == 0
    assert len(await outbox(app)) == before
