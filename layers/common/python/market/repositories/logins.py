"""A login's reads and writes, at their floor: one read before the password check, one write after it.

- ``read``: one ``BatchGetItem`` of the email guard (which keeps a copy of the user's role and
  password hash, ``market.models.user``) and the two failure counters of the window (per account,
  per source IP: ``RATE#login-account#<email>`` / ``RATE#login-ip#<ip>``, ``WINDOW#<n>``).
- ``record_failure``: one transaction adding the failure to both counters, each only while it is
  under its limit; refused (nothing written) once either limit is reached.
- ``succeed``: one transaction that forgets the account's failures (only while they are under the
  limit), checks that the source IP is under its limit, and writes the new refresh-token family and
  its first token; refused (nothing written) once either limit was reached meanwhile.

Counting failures under a condition, and succeeding under the same condition, keeps the lockout
exact under parallel guesses: at most ``limit`` wrong passwords are ever answered "wrong" in a
window, and a right one is accepted only while fewer than ``limit`` failures are recorded;
everything else is answered 429, so a guess beyond the limit teaches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.domain.user import Credentials
from market.models.rate_limit import RateCounterItem, rate_pk, window_sk
from market.models.user import EMAIL_SK, USER_SK, EmailGuardItem, UserItem, email_pk, user_pk
from market.repositories import refresh_tokens, users
from market.repositories.rate_limits import Window, counter_item, slot, under
from market.repositories.reads import get_many
from market.repositories.transactions import OperationRejected, TxOp, write

ACCOUNT_SCOPE = "login-account"
IP_SCOPE = "login-ip"


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_ip: int


@dataclass(frozen=True)
class LoginState:
    credentials: Credentials | None  # None: no account has this email
    account_failures: int
    ip_failures: int

    def within(self, limits: Limits) -> bool:
        return self.account_failures < limits.per_account and self.ip_failures < limits.per_ip


class LimitReached(Exception):
    """The account or the source IP used up its failures in this window (meanwhile, when a write says so)."""


class RoleChanged(Exception):
    """The user's role is not the one the email guard's copy holds (an operator promoted or demoted
    the account in the table): nothing was written; read the user and refresh the copy."""


ROLE_CHECK = "role"


def read(email: str, source_ip: str, window: Window) -> LoginState:
    """The account's credentials and both failure counts, in one round trip (two for a guard that
    predates the login copy, which then reads the user too)."""
    guard, account, ip = get_many(
        [
            (EmailGuardItem, email_pk(email), EMAIL_SK),
            (RateCounterItem, rate_pk(ACCOUNT_SCOPE, email), window_sk(window.index)),
            (RateCounterItem, rate_pk(IP_SCOPE, source_ip), window_sk(window.index)),
        ]
    )
    credentials = None
    if isinstance(guard, EmailGuardItem):
        if guard.password_hash and guard.role:
            credentials = Credentials(user_id=guard.user_id, role=guard.role, password_hash=guard.password_hash)
        elif (user := users.get_user(guard.user_id)) is not None:
            credentials = Credentials(user_id=user.id, role=user.role, password_hash=user.password_hash)
    return LoginState(
        credentials=credentials,
        account_failures=int(account.hits) if isinstance(account, RateCounterItem) else 0,
        ip_failures=int(ip.hits) if isinstance(ip, RateCounterItem) else 0,
    )


def record_failure(email: str, source_ip: str, window: Window, limits: Limits) -> None:
    """Count a wrong password for the account and the source IP; ``LimitReached`` (nothing counted)
    when either has no failure left in this window."""
    try:
        write(
            [slot(ACCOUNT_SCOPE, email, window, limits.per_account), slot(IP_SCOPE, source_ip, window, limits.per_ip)]
        )
    except OperationRejected as rejected:
        raise LimitReached from rejected


def succeed(
    credentials: Credentials,
    email: str,
    source_ip: str,
    window: Window,
    limits: Limits,
    *,
    token_digest: str,
    issued_at: str,
    expires_at: int,
) -> str:
    """Forget the account's failures and start a refresh-token family, in one transaction; the family
    id. ``LimitReached`` (nothing written) when the account or the IP reached its limit meanwhile;
    ``RoleChanged`` (nothing written) when the user's role is not ``credentials.role`` (the copy is
    stale): the token is never issued with a role the user no longer has."""
    account = counter_item(ACCOUNT_SCOPE, email, window)
    ip = counter_item(IP_SCOPE, source_ip, window)
    family_id, family = refresh_tokens.family_ops(
        credentials.user_id, token_digest, issued_at=issued_at, expires_at=expires_at
    )
    ops = [
        TxOp(ACCOUNT_SCOPE, lambda tx: tx.delete(account, condition=under(limits.per_account))),
        TxOp(
            IP_SCOPE,
            lambda tx: tx.condition_check(RateCounterItem, ip.PK, ip.SK, condition=under(limits.per_ip)),
        ),
        TxOp(
            ROLE_CHECK,
            lambda tx: tx.condition_check(
                UserItem, user_pk(credentials.user_id), USER_SK, condition=UserItem.role == credentials.role
            ),
        ),
        *family,
    ]
    try:
        write(ops)
    except OperationRejected as rejected:
        if rejected.failed & {ACCOUNT_SCOPE, IP_SCOPE}:
            raise LimitReached from rejected
        if ROLE_CHECK in rejected.failed:
            raise RoleChanged from rejected
        raise
    return family_id


def refresh_copy(email: str, credentials: Credentials) -> None:
    """Bring the email guard's copy of the user's role back in line with the user (after ``RoleChanged``)."""
    EmailGuardItem(email_pk(email), EMAIL_SK).update(
        actions=[EmailGuardItem.role.set(credentials.role)], condition=EmailGuardItem.user_id == credentials.user_id
    )
