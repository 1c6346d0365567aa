"""The dashboard's session cookie and CSRF token: signed by the admin token, expiring."""

from __future__ import annotations

from router.ui import session

TOKEN = "s3cret"


def test_a_session_reads_back_with_its_actor() -> None:
    value = session.issue(TOKEN, "ui:alice", now=1000)
    found = session.read(TOKEN, value, now=1001)
    assert found is not None and found.actor == "ui:alice"


def test_a_cookie_signed_with_another_token_is_refused() -> None:
    assert session.read("other", session.issue(TOKEN, "ui:x", now=0), now=1) is None


def test_an_edited_cookie_is_refused() -> None:
    name, issued, nonce, sig = session.issue(TOKEN, "ui:x", now=0).split(".")
    assert session.read(TOKEN, f"{name}.{int(issued) + 1}.{nonce}.{sig}", now=1) is None
    assert session.read(TOKEN, "garbage", now=1) is None


def test_a_session_expires() -> None:
    value = session.issue(TOKEN, "ui:x", now=0)
    assert session.read(TOKEN, value, now=session.LIFETIME + 1) is None


def test_each_session_has_its_own_csrf_token() -> None:
    a = session.read(TOKEN, session.issue(TOKEN, "ui:x", now=0), now=0)
    b = session.read(TOKEN, session.issue(TOKEN, "ui:x", now=0), now=0)
    assert a is not None and b is not None
    assert a.csrf(TOKEN) != b.csrf(TOKEN)
    assert a.csrf(TOKEN) != a.csrf("other")


def test_the_actor_name_is_cleaned_and_prefixed() -> None:
    assert session.clean_actor("alice") == "ui:alice"
    assert session.clean_actor("") == "ui:dashboard"
    assert session.clean_actor("<script>x</script>") == "ui:scriptxscript"
