"""Setting a document's confidentiality level from its page (POST /tai-lieu/<id>/do-mat/).

The change goes through pipeline.corrections.correct, the same function `sohoa set ID
confidentiality=…` calls: metadata, catalog column, audit event and search index change
together, and the event names the logged-in user and the reason given.

Who may: Action.SET_CONFIDENTIALITY (web.permissions), on a document they can see. A level
above the user's own clearance is refused with 403 and a Vietnamese sentence, not a form
error: the form never offers it (its option is disabled), so only a crafted request asks,
and granting it would hide the document from the very person setting it. A value that is
no level, or an empty reason, is a form error (400) and changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.confidentiality import Level
from web.permissions import Action, document_or_404, require, standing


class ConfidentialityForm(forms.Form):
    level = forms.CharField(max_length=40, error_messages={"required": "Hãy chọn độ mật."})
    reason = forms.CharField(max_length=500, error_messages={
        "required": "Hãy ghi lý do đặt độ mật (sẽ lưu trong nhật ký xử lý của tài liệu).",
        "max_length": "Lý do dài quá 500 ký tự; hãy viết ngắn lại."})

    def clean_level(self) -> Level:
        try:
            return Level.parse(self.cleaned_data["level"])
        except ValueError as error:
            raise forms.ValidationError(f"Độ mật: {error}.") from None


def confidentiality_choices(user, document) -> list[dict] | None:
    """The form's options for the document page: None when the user may not set the level
    (no form is shown); levels above their clearance are offered disabled."""
    who = standing(user)
    if not who.may(Action.SET_CONFIDENTIALITY):
        return None
    return [{"value": level.slug, "label": level.label, "current": int(level) == document.confidentiality,
             "allowed": who.may_see_level(level)} for level in Level]


def _page(request, document, form, status: int, refusal: str = ""):
    return render(request, "web/document_confidentiality.html", {
        "document": document, "form": form, "refusal": refusal,
        "choices": confidentiality_choices(request.user, document),
    }, status=status)


@require_POST
@require(Action.SET_CONFIDENTIALITY)
def set_confidentiality(request, document_id: int):
    document = document_or_404(request.user, document_id)
    form = ConfidentialityForm(request.POST)
    if not form.is_valid():
        return _page(request, document, form, status=400)
    level: Level = form.cleaned_data["level"]
    clearance = standing(request.user).clearance
    if not standing(request.user).may_see_level(level):
        return _page(request, document, form, status=403, refusal=(
            f"Không đặt được độ mật «{level.label}» cho tài liệu mã {document.pk}: mức này cao hơn mức "
            f"bạn được xem ({clearance.label}), đặt xong bạn sẽ không mở được tài liệu. "
            "Hãy nhờ người có mức được xem đủ cao đặt."))
    from pipeline.corrections import CorrectionError

    try:
        changes = _correct(document.pk, level, by=request.user.get_username(), reason=form.cleaned_data["reason"])
    except CorrectionError as error:  # nothing was changed: correct() puts back what it began
        form.add_error(None, f"Không đặt được độ mật cho tài liệu mã {document.pk}: {error}.")
        return _page(request, document, form, status=400)
    if changes:
        messages.success(request, f"Đã đặt độ mật: {level.label}")
    else:
        messages.info(request, f"Độ mật đã là «{level.label}»; không có gì thay đổi.")
    return redirect("document", document_id=document.pk)


def _correct(document_id: int, level: Level, *, by: str, reason: str):
    from core.archive import ArchiveStore
    from core.catalog import Catalog
    from core.home import Home
    from pipeline import corrections
    from web.search import open_home_index

    home = Home(Path(settings.SOHOA_HOME))
    config = home.config()
    with Catalog(home.catalog_path) as catalog, open_home_index() as index:
        return corrections.correct(document_id, [f"confidentiality={level.slug}"], by=by, reason=reason,
                                   catalog=catalog, archive=ArchiveStore(home.archive_dir), index=index,
                                   defaults=config.records, language=config.language)
