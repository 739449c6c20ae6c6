"""The Slack workspace the fake pretends to be: team, app, tokens, users, channels, groups.

Why a frozen seed: tests pin behaviour against known IDs (an approver in a user group, a
channel the bot is not in), and every ID matches the patterns in Slack's published specs
(``C``/``U``/``B``/``T`` plus at least 8 upper-case characters), so responses validate.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    email: str
    is_bot: bool = False
    deleted: bool = False
    tz: str = "Etc/UTC"


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    is_private: bool = False
    bot_is_member: bool = True
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Usergroup:
    id: str
    handle: str
    users: tuple[str, ...]


ALICE = User("U0ALICE001", "alice", "Alice Approver", "alice@example.com")
BOB = User("U0BOB00002", "bob", "Bob Builder", "bob@example.com")
MALLORY = User("U0MALLORY3", "mallory", "Mallory Outsider", "mallory@example.com")
BOT = User("U0NEONBOT1", "neon-governor", "Neon Governor", "", is_bot=True)
DEFAULT_USERS = (ALICE, BOB, MALLORY, BOT)
_EVERYONE = tuple(user.id for user in DEFAULT_USERS)

REPORTS = Channel("C0REPORTS1", "neon-reports", members=_EVERYONE)
APPROVALS = Channel("C0APPROVE1", "neon-approvals", members=_EVERYONE)
# A public channel the bot was never invited to: chat.postMessage says not_in_channel.
OUTSIDE = Channel("C0OUTSIDE1", "random", bot_is_member=False, members=(ALICE.id, BOB.id))
# A private channel without the bot: Slack does not reveal it exists (channel_not_found).
PRIVATE = Channel("G0PRIVATE1", "secret", is_private=True, bot_is_member=False, members=(ALICE.id,))
DEFAULT_CHANNELS = (REPORTS, APPROVALS, OUTSIDE, PRIVATE)

APPROVERS = Usergroup("S0APPROVE1", "neon-approvers", (ALICE.id, BOB.id))
DEFAULT_USERGROUPS = (APPROVERS,)


@dataclass(frozen=True)
class Workspace:
    team_id: str = "T0NEONGOV1"
    team_domain: str = "neon-governor-fake"
    team_name: str = "Neon Governor (fake)"
    app_id: str = "A0NEONGOV1"
    bot_id: str = "B0NEONGOV1"
    bot_user_id: str = "U0NEONBOT1"
    bot_name: str = "neon-governor"
    bot_token: str = "xoxb-fake-0001-bot-token"
    app_token: str = "xapp-1-A0NEONGOV1-fake-app-token"
    users: tuple[User, ...] = DEFAULT_USERS
    channels: tuple[Channel, ...] = DEFAULT_CHANNELS
    usergroups: tuple[Usergroup, ...] = DEFAULT_USERGROUPS

    def channel(self, key: str) -> Channel | None:
        """By ID, or by name with or without '#' (chat.postMessage accepts both)."""
        name = key.removeprefix("#")
        for channel in self.channels:
            if key == channel.id or name == channel.name:
                return channel
        return None

    def user(self, user_id: str) -> User | None:
        return next((user for user in self.users if user.id == user_id), None)

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        return next((user for user in self.users if user.email.lower() == wanted), None)

    def usergroup(self, group_id: str) -> Usergroup | None:
        return next((group for group in self.usergroups if group.id == group_id), None)
