"""Who may do what: the one place every page, API call and download asks.

Roles rank văn thư < cán bộ < lưu trữ viên < quản trị (core.roles.Role); a user sees a
document only when their clearance is at least its level (core.confidentiality). A Django
superuser without a profile counts as quản trị with clearance tuyệt mật (the administrator
`make run` creates); any other user without a profile may do nothing.

Views never test roles or levels themselves: they call require(), visible_documents() and
document_or_404(), so a rule changes here once for pages, API and downloads alike.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404

from core.confidentiality import Level
from core.roles import Role

RANK = {Role.VAN_THU: 0, Role.CAN_BO: 1, Role.LUU_TRU: 2, Role.QUAN_TRI: 3}


class Action(enum.Enum):
    """What a user asks to do; the minimum role for each is below."""

    SEARCH = "search"  # search page, document page, page images, PDF/A download
    DOWNLOAD_ORIGINAL = "download-original"  # the scan as received
    SEE_ACCESS_LOG = "see-access-log"
    SET_CONFIDENTIALITY = "set-confidentiality"
    ADMINISTER = "administer"


MINIMUM_ROLE = {
    Action.SEARCH: Role.CAN_BO,
    Action.DOWNLOAD_ORIGINAL: Role.LUU_TRU,
    Action.SEE_ACCESS_LOG: Role.LUU_TRU,
    Action.SET_CONFIDENTIALITY: Role.LUU_TRU,
    Action.ADMINISTER: Role.QUAN_TRI,
}


@dataclass(frozen=True)
class Standing:
    """A user's role and clearance; None role: may do nothing."""

    role: Role | None
    clearance: Level

    def may(self, action: Action) -> bool:
        return self.role is not None and RANK[self.role] >= RANK[MINIMUM_ROLE[action]]

    def may_see_level(self, level: int) -> bool:
        return self.role is not None and int(self.clearance) >= int(level)


NOBODY = Standing(None, Level.THUONG)


def standing(user) -> Standing:
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    from core.models import StaffProfile

    try:
        profile = StaffProfile.objects.get(user_id=user.pk)
    except StaffProfile.DoesNotExist:
        return Standing(Role.QUAN_TRI, Level.TUYET_MAT) if user.is_superuser else NOBODY
    try:
        return Standing(Role(profile.role), Level(profile.clearance))
    except ValueError:
        return NOBODY  # a row edited by hand to nonsense grants nothing


def require(action: Action):
    """View decorator: 403 unless the logged-in user's role allows `action` (the login
    page first for anyone not logged in)."""

    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not standing(request.user).may(action):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def check(user, action: Action) -> None:
    if not standing(user).may(action):
        raise PermissionDenied


def visible_documents(user):
    """The catalog's documents this user may know exist: withdrawn ones never (they are
    out of search), the rest up to the user's clearance."""
    from core.models import Document

    who = standing(user)
    if not who.may(Action.SEARCH):
        return Document.objects.none()
    return Document.objects.filter(withdrawn_at__isnull=True, confidentiality__lte=int(who.clearance))


def document_or_404(user, document_id: int):
    """The document if this user may see it. One answer, 404, for "no such document" and
    "not for you": a secret document's existence is itself not told."""
    from core.models import Document

    check(user, Action.SEARCH)
    try:
        return visible_documents(user).get(pk=document_id)
    except Document.DoesNotExist:
        raise Http404("Không có tài liệu này") from None


def max_level(user) -> int:
    """The highest confidentiality level this user may see: the search index filters on it
    (index.SearchFilters), so hits, counts, facets and snippets never count the others."""
    who = standing(user)
    return int(who.clearance) if who.may(Action.SEARCH) else -1


def context(request) -> dict:
    """Template context: what the menu may offer this user."""
    who = standing(getattr(request, "user", None))
    return {
        "standing": who,
        "may_search": who.may(Action.SEARCH),
        "may_see_access_log": who.may(Action.SEE_ACCESS_LOG),
        "may_administer": who.may(Action.ADMINISTER),
    }
