"""`sohoa token add|list|revoke`: keys for machines to call the REST API (/api/) as a user.

The key is printed once, when it is made: the database keeps only its SHA-256
(web/api/tokens.py), so a lost key cannot be shown again, only revoked and replaced."""

from __future__ import annotations

from commands.common import EXIT_OK, UserError, open_home, print_json


def _database(args) -> str:
    from core.database import use_home_database

    return use_home_database(open_home(args).root)


def _user(alias: str, username: str):
    from django.contrib.auth.models import User

    try:
        return User.objects.db_manager(alias).get(username=username)
    except User.DoesNotExist:
        raise UserError(f"không có người dùng «{username}»; tạo trước bằng: sohoa user add {username} --role ...") from None


def cmd_token_add(args) -> int:
    alias = _database(args)  # first: it configures Django, which the models need
    from core.models import ApiToken
    from web.api.tokens import create_token

    user = _user(alias, args.user)
    name = (args.name or "").strip()
    if not name:
        raise UserError("hãy đặt tên cho mã truy cập (--name, ví dụ --name \"máy chủ báo cáo\") để sau này biết mà thu hồi")
    if not user.is_active:
        raise UserError(f"người dùng «{user.username}» đã bị khóa; mở khóa trong trang quản trị trước khi cấp mã")
    if ApiToken.objects.using(alias).filter(user=user, name=name).exists():
        raise UserError(f"«{user.username}» đã có mã truy cập tên «{name}»; chọn tên khác, "
                        "hoặc thu hồi mã cũ trước (sohoa token list, sohoa token revoke MÃ_SỐ)")
    token, key = create_token(user, name, using=alias)
    if args.json:
        print_json({"id": token.id, "user": user.username, "name": name, "created_at": token.created_at,
                    "key": key})
        return EXIT_OK
    print(f"Đã cấp mã truy cập API số {token.id} («{name}») cho «{user.username}»:")
    print(key)
    print("Chép mã này ngay: sohoa chỉ giữ dấu SHA-256 của nó, không in lại được. "
          "Dùng trong tiêu đề: Authorization: Token <mã>. Mất mã thì thu hồi (sohoa token revoke "
          f"{token.id}) và cấp mã mới.")
    return EXIT_OK


def cmd_token_list(args) -> int:
    alias = _database(args)
    from core.models import ApiToken

    tokens = ApiToken.objects.using(alias).select_related("user").order_by("id")
    if args.user:
        tokens = tokens.filter(user=_user(alias, args.user))
    rows = [{"id": t.id, "user": t.user.username, "name": t.name, "created_at": t.created_at,
             "last_used_at": t.last_used_at} for t in tokens]
    if args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        print("Chưa có mã truy cập API nào" + (f" của «{args.user}»." if args.user else "."))
        return EXIT_OK
    for row in rows:
        used = f"dùng lần cuối {row['last_used_at']}" if row["last_used_at"] else "chưa dùng lần nào"
        print(f"{row['id']:>4}. «{row['name']}» của «{row['user']}» — cấp lúc {row['created_at']}, {used}")
    return EXIT_OK


def cmd_token_revoke(args) -> int:
    alias = _database(args)
    from core.models import ApiToken

    token = ApiToken.objects.using(alias).select_related("user").filter(pk=args.id).first()
    if token is None:
        raise UserError(f"không có mã truy cập số {args.id}; xem các mã bằng: sohoa token list")
    # Deleted, not marked: nothing is left that a copy of the database could bring back to life.
    ApiToken.objects.using(alias).filter(pk=token.pk).delete()
    if args.json:
        print_json({"id": token.id, "user": token.user.username, "name": token.name, "revoked": True})
        return EXIT_OK
    print(f"Đã thu hồi mã truy cập số {token.id} («{token.name}» của «{token.user.username}»): "
          "từ nay mọi yêu cầu dùng mã này bị từ chối.")
    return EXIT_OK
