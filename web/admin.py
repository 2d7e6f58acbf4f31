"""Django's admin (/quan-tri/), in Vietnamese (LANGUAGE_CODE vi: Django's own translation):
users with their role and clearance on one page, the access log to read only, the API
tokens to see and revoke (a token is made with `sohoa token add`, which shows its key once),
and the lookup tables (document types, retention periods: core/lookup.py) to add and retire."""

from __future__ import annotations

import unicodedata

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.db import models

from core.confidentiality import Level
from core.models import AccessLogEntry, ApiToken, DocumentType, RetentionPeriod, StaffProfile
from core.roles import Role

admin.site.site_header = "Quản trị sohoa"
admin.site.site_title = "Quản trị sohoa"
admin.site.index_title = "Người dùng, danh mục, nhật ký truy cập, mã API"
admin.site.site_url = "/"
# Roles are sohoa's own (StaffProfile); Django's groups would be a second, unused system.
admin.site.unregister(Group)

# The admin's names for sohoa's tables, in Vietnamese. Set here, not in core's models'
# Meta: there they would be schema state, and a wording change would cost a migration.
for model, one, many in ((AccessLogEntry, "lượt truy cập", "nhật ký truy cập"),
                         (ApiToken, "mã API", "mã API"), (StaffProfile, "vai trò và mức mật", "vai trò và mức mật"),
                         (DocumentType, "loại văn bản", "loại văn bản"),
                         (RetentionPeriod, "thời hạn bảo quản", "thời hạn bảo quản")):
    model._meta.verbose_name, model._meta.verbose_name_plural = one, many
for model, field, label in ((DocumentType, "symbol", "ký hiệu"), (DocumentType, "name", "tên loại"),
                            (DocumentType, "active", "đang dùng"), (RetentionPeriod, "code", "mã"),
                            (RetentionPeriod, "label", "thời hạn"), (RetentionPeriod, "active", "đang dùng")):
    model._meta.get_field(field).verbose_name = label
for app_label, name in (("core", "Lưu trữ sohoa"), ("auth", "Người dùng")):
    apps.get_app_config(app_label).verbose_name = name

ROLE_CHOICES = [(role.value, role.label) for role in Role]
LEVEL_CHOICES = [(int(level), level.label) for level in Level]


class StaffProfileForm(forms.ModelForm):
    role = forms.ChoiceField(label="Vai trò", choices=ROLE_CHOICES)
    clearance = forms.TypedChoiceField(label="Mức mật được xem", choices=LEVEL_CHOICES, coerce=int,
                                       initial=int(Level.THUONG))

    class Meta:
        model = StaffProfile
        fields = ["role", "clearance"]


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    form = StaffProfileForm
    can_delete = False
    verbose_name = verbose_name_plural = "Vai trò và mức mật"


class StaffUserAdmin(UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ["username", "first_name", "last_name", "role", "clearance", "is_active", "last_login"]
    list_filter = ["is_active", "is_superuser"]

    @admin.display(description="Vai trò")
    def role(self, user) -> str:
        profile = StaffProfile.objects.filter(user_id=user.pk).first()
        try:
            return Role(profile.role).label if profile else "—"
        except ValueError:
            return "—"

    @admin.display(description="Mức mật")
    def clearance(self, user) -> str:
        profile = StaffProfile.objects.filter(user_id=user.pk).first()
        try:
            return Level(profile.clearance).label if profile else "—"
        except ValueError:
            return "—"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The administrator role and Django's admin rights go together, as `sohoa user set` does.
        user = form.instance
        profile = StaffProfile.objects.filter(user_id=user.pk).first()
        if profile is not None:
            is_admin = profile.role == Role.QUAN_TRI.value
            if (user.is_staff, user.is_superuser) != (is_admin, is_admin):
                user.is_staff = user.is_superuser = is_admin
                user.save(update_fields=["is_staff", "is_superuser"])


admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccessLogEntry)
class AccessLogAdmin(ReadOnlyAdmin):
    """Required of archives: never edited, never deleted, here or anywhere."""

    list_display = ["at", "username", "document_id", "action", "page", "address", "channel"]
    list_filter = ["action", "channel"]
    search_fields = ["username", "address"]
    ordering = ["-at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Seen and revoked (deleted) here; made by `sohoa token add`, which shows the key once
    (only its SHA-256 is stored, so there is nothing to show here)."""

    list_display = ["id", "name", "user", "created_at", "last_used_at"]
    readonly_fields = ["name", "user", "created_at", "last_used_at"]
    exclude = ["key_sha256"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class LookupTableAdmin(admin.ModelAdmin):
    """A lookup table (core/lookup.py): the quản trị adds rows and edits them; a row
    documents may use is retired (đang dùng off), never deleted."""

    list_filter = ["active"]
    list_editable = ["active"]
    actions = None  # the one bulk action is delete
    formfield_overrides = {models.TextField: {"widget": forms.TextInput}}  # one-line values

    # Only the quản trị (a superuser: StaffUserAdmin.save_related), whatever rights a staff
    # account might otherwise be given.
    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", " ".join(value.split()))


class DocumentTypeForm(forms.ModelForm):
    class Meta:
        model = DocumentType
        fields = ["symbol", "name", "active"]

    def clean_symbol(self) -> str:
        symbol = _nfc(self.cleaned_data["symbol"])
        # the symbol is one part of a number (15/QĐ-SNV): the reader splits it at / and -
        if not symbol or any(ch in symbol for ch in " /-"):
            raise forms.ValidationError("Ký hiệu là một cụm chữ liền, không có dấu cách, «/» hay «-» (ví dụ QĐ).")
        return symbol

    def clean_name(self) -> str:
        name = _nfc(self.cleaned_data["name"])
        # compared here, not with name__iexact: SQLite folds the case of ASCII letters only (Ế, Đ)
        clash = next((row for row in DocumentType.objects.exclude(pk=self.instance.pk)
                      if row.name.casefold() == name.casefold()), None)
        if clash is not None:
            raise forms.ValidationError(f"Loại «{clash.name}» đã có, ký hiệu {clash.symbol}.")
        return name


@admin.register(DocumentType)
class DocumentTypeAdmin(LookupTableAdmin):
    form = DocumentTypeForm
    list_display = ["symbol", "name", "active"]
    search_fields = ["symbol", "name"]
    ordering = ["name"]


class RetentionPeriodForm(forms.ModelForm):
    class Meta:
        model = RetentionPeriod
        fields = ["code", "label", "active"]

    def clean_code(self) -> str:
        code = _nfc(self.cleaned_data["code"])
        if not (len(code) == 2 and code.isascii() and code.isdigit()):  # Thông tư 05's codes: 01 ... 06
            raise forms.ValidationError("Mã là hai chữ số, ví dụ 07.")
        return code

    def clean_label(self) -> str:
        return _nfc(self.cleaned_data["label"])


@admin.register(RetentionPeriod)
class RetentionPeriodAdmin(LookupTableAdmin):
    form = RetentionPeriodForm
    list_display = ["code", "label", "active"]
    search_fields = ["code", "label"]
    ordering = ["code"]
