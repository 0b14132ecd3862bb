"""The identity service against in-process moto: registration, login limits, refresh rotation, logout."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from market import clock
from market.auth import passwords
from market.auth.tokens import verify_access_token
from market.domain.errors import Conflict, Forbidden, InvalidToken, TooManyRequests
from market.domain.limits import RateScope
from market.domain.user import User
from market.models.rate_limit import RateCounterItem, rate_pk, window_sk
from market.models.refresh_token import RefreshTokenItem, TokenFamilyItem
from market.models.user import EmailGuardItem, UserItem, email_pk, user_pk
from market.repositories import rate_limits, refresh_tokens, users
from market.services import auth, limits
from market.settings import get_settings
from tests.fixtures.aws import AwsCalls

PASSWORD = "correct horse battery staple"
WINDOW = 15 * 60


pytestmark = pytest.mark.usefixtures("fast_argon2")


def unique_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def registered(role: str = "customer", email: str | None = None) -> User:
    return auth.register(
        email=email or unique_email(), password=PASSWORD, role=role, display_name=None, source_ip="192.0.2.1"
    )


def raw_item(pk: str, sk: str) -> dict[str, Any] | None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    found = client.get_item(TableName=get_settings().table_name, Key={"PK": {"S": pk}, "SK": {"S": sk}})
    return found.get("Item")


# ---------------------------------------------------------------- register


@pytest.mark.usefixtures("aws_resources")
def test_register_stores_normalised_email_and_argon2id_hash_not_the_password() -> None:
    user = auth.register(
        email="  Ada.Lovelace@Example.COM ",
        password=PASSWORD,
        role="creator",
        display_name="Ada",
        source_ip="192.0.2.1",
    )

    stored = raw_item(user_pk(user.id), "PROFILE")
    assert stored is not None
    assert stored["email"] == {"S": "ada.lovelace@example.com"}
    assert stored["role"] == {"S": "creator"}
    assert stored["password_hash"]["S"].startswith("$argon2id$")
    assert PASSWORD not in str(stored)
    guard = raw_item(email_pk("ada.lovelace@example.com"), "EMAIL")
    # The guard keeps the login's copy of the role and hash (one read per login), never the password.
    assert guard == {
        "PK": {"S": "EMAIL#ada.lovelace@example.com"},
        "SK": {"S": "EMAIL"},
        "user_id": {"S": user.id},
        "role": {"S": "creator"},
        "password_hash": stored["password_hash"],
    }
    assert PASSWORD not in str(guard)


@pytest.mark.usefixtures("aws_resources")
def test_register_twice_with_the_same_email_in_another_case_is_a_conflict() -> None:
    email = unique_email()
    registered(email=email)

    with pytest.raises(Conflict):
        registered(email=email.upper())


@pytest.mark.usefixtures("aws_resources")
def test_registration_whose_email_guard_already_exists_writes_no_user() -> None:
    # The state a concurrent winner leaves between the early check and the transaction: the guard
    # must be part of the same transaction as the user, so the loser writes nothing at all.
    email = unique_email()
    user = User(id="usr_loser", email=email, password_hash="x", role="customer", display_name=None, created_at="t")
    EmailGuardItem(email_pk(email), "EMAIL", user_id="usr_winner").save()

    with pytest.raises(users.EmailTaken):
        users.create_user(user)

    assert raw_item(user_pk("usr_loser"), "PROFILE") is None
    guard = raw_item(email_pk(email), "EMAIL")
    assert guard is not None
    assert guard["user_id"] == {"S": "usr_winner"}


@pytest.mark.usefixtures("aws_resources")
def test_concurrent_registrations_of_one_email_create_exactly_one_user() -> None:
    email = unique_email()
    start = threading.Barrier(8)

    def attempt(_: int) -> str:
        start.wait()
        try:
            registered(email=email)
        except Conflict:
            return "conflict"
        return "created"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))

    assert outcomes.count("created") == 1
    assert outcomes.count("conflict") == 7
    users_with_email = [item for item in UserItem.scan() if item.email == email]
    assert len(users_with_email) == 1


@pytest.mark.usefixtures("aws_resources")
def test_self_registration_as_admin_is_forbidden_and_writes_nothing() -> None:
    email = unique_email()

    with pytest.raises(Forbidden):
        auth.register(email=email, password=PASSWORD, role="admin", display_name=None, source_ip="192.0.2.1")

    assert raw_item(email_pk(email), "EMAIL") is None


# ---------------------------------------------------------------- login


@pytest.mark.usefixtures("aws_resources")
def test_login_returns_an_access_token_for_the_user_and_role() -> None:
    user = registered(role="creator")

    pair = auth.login(email=user.email.upper(), password=PASSWORD, source_ip="10.0.0.1")

    caller = verify_access_token(pair.access_token)
    assert (caller.user_id, caller.role) == (user.id, "creator")
    assert pair.expires_in == 15 * 60
    assert pair.refresh_token


@pytest.mark.usefixtures("aws_resources")
def test_wrong_password_and_unknown_email_fail_with_the_same_error() -> None:
    user = registered()

    with pytest.raises(auth.InvalidCredentials) as wrong_password:
        auth.login(email=user.email, password="wrong password!!", source_ip="10.0.0.2")
    with pytest.raises(auth.InvalidCredentials) as unknown_email:
        auth.login(email=unique_email(), password=PASSWORD, source_ip="10.0.0.2")

    assert (wrong_password.value.status, wrong_password.value.detail) == (
        unknown_email.value.status,
        unknown_email.value.detail,
    )


@pytest.mark.usefixtures("aws_resources")
def test_unknown_email_still_spends_an_argon2_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    verified: list[str] = []
    original = passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return original(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)

    with pytest.raises(auth.InvalidCredentials):
        auth.login(email=unique_email(), password=PASSWORD, source_ip="10.0.0.3")

    assert len(verified) == 1
    assert verified[0].startswith("$argon2id$")


@pytest.mark.usefixtures("aws_resources")
def test_account_locks_after_five_failures_then_opens_when_the_window_passes() -> None:
    clock.set_offset(-(clock.epoch_seconds() % WINDOW))  # start at the beginning of a window
    user = registered()
    for _ in range(5):
        with pytest.raises(auth.InvalidCredentials):
            auth.login(email=user.email, password="not the password", source_ip="10.1.0.1")

    with pytest.raises(TooManyRequests) as locked:
        auth.login(email=user.email, password=PASSWORD, source_ip="10.1.0.2")
    assert locked.value.headers["Retry-After"] == str(locked.value.retry_after_seconds)
    assert 0 < locked.value.retry_after_seconds <= WINDOW

    clock.set_offset(-(clock.epoch_seconds() % WINDOW) + WINDOW + 1)
    pair = auth.login(email=user.email, password=PASSWORD, source_ip="10.1.0.2")
    assert verify_access_token(pair.access_token).user_id == user.id


@pytest.mark.usefixtures("aws_resources")
def test_retry_after_counts_down_to_the_end_of_the_window() -> None:
    clock.set_offset(-(clock.epoch_seconds() % WINDOW) + 600)  # ten minutes into a window
    user = registered()
    for _ in range(5):
        with pytest.raises(auth.InvalidCredentials):
            auth.login(email=user.email, password="not the password", source_ip="10.2.0.1")

    with pytest.raises(TooManyRequests) as locked:
        auth.login(email=user.email, password=PASSWORD, source_ip="10.2.0.1")

    assert WINDOW - 600 - 5 <= locked.value.retry_after_seconds <= WINDOW - 600


@pytest.mark.usefixtures("aws_resources")
def test_a_successful_login_resets_the_account_failures() -> None:
    clock.set_offset(-(clock.epoch_seconds() % WINDOW))
    user = registered()
    for _ in range(4):
        with pytest.raises(auth.InvalidCredentials):
            auth.login(email=user.email, password="not the password", source_ip="10.3.0.1")
    auth.login(email=user.email, password=PASSWORD, source_ip="10.3.0.1")

    for _ in range(4):  # four more failures would lock the account had the success not reset it
        with pytest.raises(auth.InvalidCredentials):
            auth.login(email=user.email, password="not the password", source_ip="10.3.0.1")
    assert auth.login(email=user.email, password=PASSWORD, source_ip="10.3.0.1").access_token


@pytest.mark.usefixtures("aws_resources")
def test_one_source_ip_is_limited_across_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_IP", "3")
    get_settings.cache_clear()
    clock.set_offset(-(clock.epoch_seconds() % WINDOW))
    victim = registered()
    for _ in range(3):
        with pytest.raises(auth.InvalidCredentials):
            auth.login(email=unique_email(), password=PASSWORD, source_ip="203.0.113.7")

    with pytest.raises(TooManyRequests):
        auth.login(email=victim.email, password=PASSWORD, source_ip="203.0.113.7")
    assert auth.login(email=victim.email, password=PASSWORD, source_ip="203.0.113.8").access_token


@pytest.mark.usefixtures("aws_resources")
def test_successful_logins_do_not_use_up_the_source_ip_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_IP", "2")
    get_settings.cache_clear()
    clock.set_offset(-(clock.epoch_seconds() % WINDOW))
    user = registered()

    for _ in range(4):
        assert auth.login(email=user.email, password=PASSWORD, source_ip="203.0.113.9").access_token


@pytest.mark.usefixtures("aws_resources")
def test_login_counters_expire_through_the_table_ttl() -> None:
    clock.set_offset(-(clock.epoch_seconds() % WINDOW))
    user = registered()
    with pytest.raises(auth.InvalidCredentials):
        auth.login(email=user.email, password="not the password", source_ip="10.4.0.1")

    window = clock.epoch_seconds() // WINDOW
    counter = raw_item(f"RATE#login-account#{user.email}", f"WINDOW#{window}")
    assert counter is not None
    assert counter["hits"] == {"N": "1"}
    assert int(counter["expires_at"]["N"]) > (window + 1) * WINDOW


@pytest.mark.usefixtures("aws_resources")
def test_login_rehashes_a_password_hashed_with_older_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    user = registered()
    old_hash = user.password_hash
    monkeypatch.setenv("ARGON2_TIME_COST", "2")
    get_settings.cache_clear()
    assert passwords.needs_rehash(old_hash)

    auth.login(email=user.email, password=PASSWORD, source_ip="10.5.0.1")

    new_hash = users.get_user(user.id).password_hash  # type: ignore[union-attr]
    assert new_hash != old_hash
    assert "t=2" in new_hash
    assert not passwords.needs_rehash(new_hash)
    assert auth.login(email=user.email, password=PASSWORD, source_ip="10.5.0.1").access_token


@pytest.mark.usefixtures("aws_resources")
def test_login_keeps_a_hash_made_with_the_current_parameters() -> None:
    user = registered()

    auth.login(email=user.email, password=PASSWORD, source_ip="10.5.0.2")

    assert users.get_user(user.id).password_hash == user.password_hash  # type: ignore[union-attr]


# ---------------------------------------------------------------- refresh and logout


@pytest.mark.usefixtures("aws_resources")
def test_refresh_token_is_stored_only_as_its_sha256() -> None:
    user = registered()
    pair = auth.login(email=user.email, password=PASSWORD, source_ip="10.6.0.1")

    stored = RefreshTokenItem.get(f"REFRESH#{refresh_tokens.digest(pair.refresh_token)}", "REFRESH")
    assert stored.user_id == user.id
    assert pair.refresh_token not in str(stored.attribute_values)
    assert stored.expires_at == pytest.approx(clock.epoch_seconds() + 30 * 24 * 3600, abs=5)
    assert [item for item in RefreshTokenItem.scan() if pair.refresh_token in str(item.attribute_values)] == []


@pytest.mark.usefixtures("aws_resources")
def test_refresh_rotates_the_pair_and_spends_the_old_token() -> None:
    user = registered(role="creator")
    first = auth.login(email=user.email, password=PASSWORD, source_ip="10.6.0.2")

    second = auth.refresh(first.refresh_token)

    assert second.refresh_token != first.refresh_token
    assert verify_access_token(second.access_token).role == "creator"
    spent = RefreshTokenItem.get(f"REFRESH#{refresh_tokens.digest(first.refresh_token)}", "REFRESH")
    assert spent.spent_at is not None
    third = auth.refresh(second.refresh_token)
    assert third.refresh_token not in {first.refresh_token, second.refresh_token}


@pytest.mark.usefixtures("aws_resources")
def test_reusing_a_spent_refresh_token_revokes_the_whole_family() -> None:
    user = registered()
    first = auth.login(email=user.email, password=PASSWORD, source_ip="10.6.0.3")
    second = auth.refresh(first.refresh_token)

    with pytest.raises(auth.InvalidRefreshToken):
        auth.refresh(first.refresh_token)

    with pytest.raises(auth.InvalidRefreshToken):
        auth.refresh(second.refresh_token)
    with pytest.raises(auth.InvalidRefreshToken):
        auth.refresh(first.refresh_token)
    family_id = RefreshTokenItem.get(f"REFRESH#{refresh_tokens.digest(second.refresh_token)}", "REFRESH").family_id
    assert TokenFamilyItem.get(f"FAMILY#{family_id}", "FAMILY").revoked_at is not None


@pytest.mark.usefixtures("aws_resources")
def test_reuse_revokes_only_its_own_family() -> None:
    user = registered()
    phone = auth.login(email=user.email, password=PASSWORD, source_ip="10.6.0.4")
    laptop = auth.login(email=user.email, password=PASSWORD, source_ip="10.6.0.4")
    auth.refresh(phone.refresh_token)

    with pytest.raises(auth.InvalidRefreshToken):
        auth.refresh(phone.refresh_token)

    assert auth.refresh(laptop.refresh_token).access_token


@pytest.mark.usefixtures("aws_resources")
def test_two_concurrent_refreshes_with_one_token_yield_at_most_one_pair() -> None:
    user = registered()
    pair = auth.login(email=user.email, password=PASSWORD, source_ip="10.6.0.5")
    start = threading.Barrier(2)

    def attempt(_: int) -> auth.TokenPair | None:
        start.wait()
        try:
            return auth.refresh(pair.refresh_token)
        except auth.InvalidRefreshToken:
            return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [result for result in pool.map(attempt, range(2)) if result is not None]

    assert len(results) <= 1


@pytest.mark.usefixtures("aws_resources")
def test_unknown_and_expired_refresh_tokens_are_refused() -> None:
    user = registered()
    pair = auth.login(email=user.email, password=PASSWORD, source_ip="10.6.0.6")

    with pytest.raises(auth.InvalidRefreshToken):
        auth.refresh("not-a-token-we-issued")
    clock.set_offset(30 * 24 * 3600 + 1)
    with pytest.raises(auth.InvalidRefreshToken):
        auth.refresh(pair.refresh_token)


@pytest.mark.usefixtures("aws_resources")
def test_refresh_token_still_works_just_before_thirty_days() -> None:
    user = registered()
    pair = auth.login(email=user.email, password=PASSWORD, source_ip="10.6.0.7")

    clock.set_offset(30 * 24 * 3600 - 60)

    assert auth.refresh(pair.refresh_token).access_token


@pytest.mark.usefixtures("aws_resources")
def test_logout_revokes_the_family_of_the_presented_token() -> None:
    user = registered()
    first = auth.login(email=user.email, password=PASSWORD, source_ip="10.7.0.1")
    second = auth.refresh(first.refresh_token)

    auth.logout(user_id=user.id, refresh_token=first.refresh_token)

    with pytest.raises(auth.InvalidRefreshToken):
        auth.refresh(second.refresh_token)


@pytest.mark.usefixtures("aws_resources")
def test_logout_with_someone_elses_refresh_token_is_refused_and_revokes_nothing() -> None:
    alice, mallory = registered(), registered()
    alices = auth.login(email=alice.email, password=PASSWORD, source_ip="10.7.0.2")

    with pytest.raises(auth.InvalidRefreshToken):
        auth.logout(user_id=mallory.id, refresh_token=alices.refresh_token)

    assert auth.refresh(alices.refresh_token).access_token


@pytest.mark.usefixtures("aws_resources")
def test_profile_of_a_deleted_user_is_an_invalid_token() -> None:
    user = registered()
    UserItem(user_pk(user.id), "PROFILE").delete()

    with pytest.raises(InvalidToken):
        auth.profile(user.id)


# ---------------------------------------------------------------- round trips and the lockout under parallel guesses


def _register_count(scope: RateScope, key: str) -> int:
    window = rate_limits.window_at(clock.epoch_seconds(), limits.rate_limit(scope).window_seconds)
    return int(RateCounterItem.get(rate_pk(scope, key), window_sk(window.index)).hits)


@pytest.mark.usefixtures("aws_resources")
def test_register_is_one_transaction_that_holds_its_rate_counters(aws_calls: AwsCalls) -> None:
    email = unique_email()

    registered(email=email)
    # No early "is it taken?" read, no counter calls: the transaction checks the email and counts.
    assert aws_calls.made == ["dynamodb.TransactWriteItems"]
    assert _register_count("register-email", email) == 1

    mark = len(aws_calls.made)
    with pytest.raises(Conflict):
        registered(email=email)
    # The refused transaction rolled its counts back: a taken email is counted after it, so that
    # probing for registered addresses uses the limit up as fast as registering does.
    assert aws_calls.since(mark) == ["dynamodb.TransactWriteItems", "dynamodb.UpdateItem", "dynamodb.UpdateItem"]
    assert _register_count("register-email", email) == 2


@pytest.mark.usefixtures("aws_resources")
def test_a_successful_login_is_one_read_and_one_write(aws_calls: AwsCalls) -> None:
    user = registered()
    auth.login(email=user.email, password=PASSWORD, source_ip="10.8.0.1")  # warm: clients, settings, signing key
    mark = len(aws_calls.made)

    pair = auth.login(email=user.email, password=PASSWORD, source_ip="10.8.0.1")

    assert aws_calls.since(mark) == ["dynamodb.BatchGetItem", "dynamodb.TransactWriteItems"]
    assert verify_access_token(pair.access_token).user_id == user.id
    assert auth.refresh(pair.refresh_token).access_token  # the family and token were written


@pytest.mark.parametrize(("registered_as", "changed_to"), [("customer", "admin"), ("creator", "customer")])
@pytest.mark.usefixtures("aws_resources")
def test_a_role_changed_in_the_table_is_the_role_of_the_next_login_token(
    aws_calls: AwsCalls, registered_as: str, changed_to: str
) -> None:
    # An operator promotes (or demotes) an account on its USER# item only; the email guard's copy of the
    # role, which a login reads, is then stale: the login must not issue a token with the old role.
    user = registered(registered_as)
    auth.login(email=user.email, password=PASSWORD, source_ip="10.8.0.3")
    UserItem(user_pk(user.id), "PROFILE").update(actions=[UserItem.role.set(changed_to)])

    changed = auth.login(email=user.email, password=PASSWORD, source_ip="10.8.0.3")
    mark = len(aws_calls.made)
    again = auth.login(email=user.email, password=PASSWORD, source_ip="10.8.0.3")

    assert verify_access_token(changed.access_token).role == changed_to
    assert verify_access_token(again.access_token).role == changed_to
    # The copy was brought in line: the next login is back to one read and one write.
    assert aws_calls.since(mark) == ["dynamodb.BatchGetItem", "dynamodb.TransactWriteItems"]


@pytest.mark.usefixtures("aws_resources")
def test_a_failed_login_is_one_read_and_one_write_and_a_locked_one_only_the_read(aws_calls: AwsCalls) -> None:
    clock.set_offset(-(clock.epoch_seconds() % WINDOW))
    user = registered()
    for _ in range(4):
        with pytest.raises(auth.InvalidCredentials):
            auth.login(email=user.email, password="not the password", source_ip="10.8.0.2")
    mark = len(aws_calls.made)
    with pytest.raises(auth.InvalidCredentials):
        auth.login(email=user.email, password="not the password", source_ip="10.8.0.2")
    assert aws_calls.since(mark) == ["dynamodb.BatchGetItem", "dynamodb.TransactWriteItems"]

    mark = len(aws_calls.made)
    with pytest.raises(TooManyRequests):
        auth.login(email=user.email, password=PASSWORD, source_ip="10.8.0.2")
    assert aws_calls.since(mark) == ["dynamodb.BatchGetItem"]


@pytest.mark.usefixtures("aws_resources")
def test_parallel_wrong_guesses_get_no_more_answers_than_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set_offset(-(clock.epoch_seconds() % WINDOW))
    user = registered()
    checked: list[str] = []
    original = passwords.verify_password

    def slow_verify(password_hash: str, password: str) -> bool:
        checked.append(password)
        start.wait()  # every guess has read the counters before any failure is recorded
        return original(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", slow_verify)
    guesses = 12
    start = threading.Barrier(guesses, timeout=30)

    def guess(index: int) -> str:
        try:
            auth.login(email=user.email, password=f"wrong guess {index:02d}", source_ip=f"10.9.0.{index}")
        except auth.InvalidCredentials:
            return "401"
        except TooManyRequests:
            return "429"
        return "200"

    with ThreadPoolExecutor(max_workers=guesses) as pool:
        answers = list(pool.map(guess, range(guesses)))

    assert len(checked) == guesses  # all of them raced past the read
    assert answers.count("401") == 5  # but only five were told "wrong"
    assert answers.count("429") == guesses - 5
    monkeypatch.setattr(passwords, "verify_password", original)
    with pytest.raises(TooManyRequests):
        auth.login(email=user.email, password=PASSWORD, source_ip="10.9.1.1")


@pytest.mark.usefixtures("aws_resources")
def test_a_right_password_is_refused_when_the_limit_was_reached_while_it_was_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock.set_offset(-(clock.epoch_seconds() % WINDOW))
    user = registered()
    original = passwords.verify_password

    def five_failures_meanwhile(password_hash: str, password: str) -> bool:
        monkeypatch.setattr(passwords, "verify_password", original)
        for _ in range(5):  # other guesses finish while this one is being checked
            with pytest.raises(auth.InvalidCredentials):
                auth.login(email=user.email, password="not the password", source_ip="10.9.2.1")
        return original(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", five_failures_meanwhile)

    with pytest.raises(TooManyRequests):
        auth.login(email=user.email, password=PASSWORD, source_ip="10.9.2.2")
    written = [item.PK for item in RefreshTokenItem.scan()]  # a scan sees every item type of the table
    assert [pk for pk in written if pk.startswith(("REFRESH#", "FAMILY#"))] == []  # no token for it


@pytest.mark.usefixtures("aws_resources")
def test_login_through_a_guard_written_before_it_kept_a_copy() -> None:
    user = registered(role="creator")
    EmailGuardItem(email_pk(user.email), "EMAIL", user_id=user.id).save()  # user_id only, as guards were

    pair = auth.login(email=user.email, password=PASSWORD, source_ip="10.9.3.1")

    assert (verify_access_token(pair.access_token).user_id, verify_access_token(pair.access_token).role) == (
        user.id,
        "creator",
    )


@pytest.mark.usefixtures("aws_resources")
def test_a_rehash_updates_the_guards_copy_too(monkeypatch: pytest.MonkeyPatch) -> None:
    user = registered()
    monkeypatch.setenv("ARGON2_TIME_COST", "2")
    get_settings.cache_clear()

    auth.login(email=user.email, password=PASSWORD, source_ip="10.9.4.1")

    stored = raw_item(user_pk(user.id), "PROFILE")
    guard = raw_item(email_pk(user.email), "EMAIL")
    assert stored is not None
    assert guard is not None
    assert "t=2" in stored["password_hash"]["S"]
    assert guard["password_hash"] == stored["password_hash"]
