"""`efir user add|list` and `efir token create|revoke`: accounts from a terminal, which is
how the first admin of a production install comes to exist."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from efir.accounts.users import (
    AccountError,
    AccountRole,
    create_token,
    create_user,
    get_user,
    list_tokens,
    list_users,
    revoke_token,
)
from efir.config import Settings
from efir.db import make_engine, make_session_factory, migrate

__all__ = ["add_account_commands"]


def add_account_commands(commands: Any) -> None:
    """Register `user` and `token` on the `efir` sub-command parsers."""
    roles = [role.value for role in AccountRole]
    user = commands.add_parser("user", help="add and list user accounts")
    user_commands = user.add_subparsers(required=True, metavar="ACTION")
    add = user_commands.add_parser("add", help="add a user (password asked, or from stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=roles)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(command=_add_user)
    user_commands.add_parser("list", help="list users").set_defaults(command=_list_users)

    token = commands.add_parser("token", help="create and revoke API tokens")
    token_commands = token.add_subparsers(required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument("--user", required=True, help="the token's owner")
    create.add_argument("--role", choices=roles, help="at most the owner's role (default theirs)")
    create.add_argument("--name", default="", help="what the token is for")
    create.set_defaults(command=_create_token)
    token_commands.add_parser("list", help="list tokens (never their text)").set_defaults(
        command=_list_tokens
    )
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(command=_revoke_token)


@contextmanager
def _database(settings: Settings) -> Iterator[Session]:
    migrate(settings.sqlalchemy_url)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Пароль / Password: ")
    if getpass.getpass("Ещё раз / Again: ") != password:
        raise AccountError("Пароли не совпадают. The passwords differ.")
    return password


def _add_user(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password(args.password_stdin)
    with _database(settings) as session:
        user = create_user(
            session=session, username=args.username, password=password, role=AccountRole(args.role)
        )
        print(f"user {user.username} ({user.role}) added, id {user.id}")
    return 0


def _list_users(_: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as session:
        for user in list_users(session=session):
            state = "disabled" if user.disabled else "active"
            print(f"{user.id}\t{user.username}\t{user.role}\t{state}\t{user.created_at:%Y-%m-%d}")
    return 0


def _create_token(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as session:
        owner = get_user(session=session, username=args.user)
        role = AccountRole(args.role) if args.role else None
        token, secret = create_token(session=session, user=owner, name=args.name, role=role)
        print(f"token {token.id} ({token.role}) for {owner.username}; shown once:", file=sys.stderr)
        print(secret)
    return 0


def _list_tokens(_: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as session:
        owners = {user.id: user.username for user in list_users(session=session)}
        for token in list_tokens(session=session):
            state = "revoked" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
            print(
                f"{token.id}\t{token.name}\t{owners[token.user_id]}\t{token.role}\t{state}\t{used}"
            )
    return 0


def _revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as session:
        token = revoke_token(session=session, token_id=args.token_id)
        print(f"token {token.id} ({token.name}) revoked")
    return 0
