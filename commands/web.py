"""`sohoa serve` (the web application and the watch-folder service together) and
`sohoa user` (the web application's users: add, list, set, password).

Passwords never come from argv (they would be in `ps` and the shell's history): from
standard input, the environment ($SOHOA_PASSWORD), or typed at a terminal prompt.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time

from commands.common import EXIT_OK, UserError, open_home, os_reason, print_json

PASSWORD_VARIABLE = "SOHOA_PASSWORD"
DEFAULT_BIND = "127.0.0.1:8000"
WEB_LOG = "web.log"  # gunicorn's own log, beside sohoa.log in the home's logs/
WEB_WORKERS = 2  # processes; each serves several requests at once on threads (gthread)
WEB_THREADS = 4
WEB_GRACE_SECONDS = 10  # gunicorn's graceful timeout: requests under way finish first


# -- the home's Django, for the user commands and serve's start ----------------------------


def _web_django(home) -> None:
    """Django set up as the web application has it, on this home's database at the current
    schema (the web's own tables included: sessions, admin, axes)."""
    import django
    from django.conf import settings

    from core.database import migrate_database
    from web.settings import web_settings

    if not settings.configured:
        settings.configure(**web_settings(home.root))
        django.setup()
    from django.utils import translation

    translation.activate("vi")  # Django's own messages (password rules) in Vietnamese
    migrate_database("default", home_root=home.root)


# -- sohoa serve ----------------------------------------------------------------------------


def cmd_serve(args) -> int:
    from watch_folders.service import running_service_pid
    from watch_folders.settings import load_watch_settings

    home = open_home(args)
    home.config()  # a mistake in config.toml is reported before anything starts
    grace = load_watch_settings(home.config_path).stop_grace_seconds
    running = running_service_pid(home.root)
    if running is not None:  # one watch service per home: said before the web starts
        raise UserError(f"dịch vụ theo dõi thư mục của kho {home.root} đang chạy (tiến trình {running}); "
                        "hãy dừng nó trước (Ctrl-C hoặc systemctl stop sohoa-watch) rồi chạy lại sohoa serve")
    # The schema is brought up to date here, once, before any gunicorn worker starts (each
    # worker checks again under core's migration lock and finds nothing to do).
    _web_django(home)
    from django.contrib.auth.models import User
    from django.db import connections

    has_users = User.objects.exists()
    connections.close_all()
    listener, address = _listen(args.bind)
    say = _Console(args.json)
    supervisor = _Supervisor(home, listener, grace, say, verbose=args.verbose, json=args.json)
    return supervisor.run(address, has_users)


def _listen(bind: str) -> tuple[socket.socket, tuple[str, int]]:
    """The listening socket, made here and handed to gunicorn (fd://): a port in use or not
    allowed is said in one line before anything starts, and the address is known."""
    host, _, port_text = bind.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    try:
        port = int(port_text)  # 0: any free port (the address said at start names it)
        if not 0 <= port < 65536:
            raise ValueError
    except ValueError:
        raise UserError(f"--bind {bind}: cần dạng ĐỊA_CHỈ:CỔNG, ví dụ 127.0.0.1:8000 hoặc 0.0.0.0:8000 "
                        "(mở cho mạng nội bộ)") from None
    try:
        family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                            flags=socket.AI_PASSIVE)[0]
    except socket.gaierror:
        raise UserError(f"--bind {bind}: không tìm thấy địa chỉ «{host}» trên máy này") from None
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(where)
        listener.listen(2048)
    except OSError as failure:
        listener.close()
        import errno

        if failure.errno == errno.EADDRINUSE:
            raise UserError(f"cổng {port} trên {host} đang có chương trình khác dùng (có thể một sohoa serve "
                            f"khác); chọn cổng khác: --bind {host}:{port + 1}") from None
        if failure.errno == errno.EACCES:
            raise UserError(f"cổng {port} cần quyền quản trị hệ thống; dùng cổng từ 1024 trở lên "
                            "(cổng 80/443: đặt nginx phía trước, xem README)") from None
        if failure.errno == errno.EADDRNOTAVAIL:
            raise UserError(f"--bind {bind}: máy này không có địa chỉ {host}") from None
        raise UserError(f"--bind {bind}: không mở được cổng ({os_reason(failure)})") from None
    return listener, listener.getsockname()[:2]


class _Console:
    """serve's own lines: sentences, or JSON events with `--json` (as `watch --json`)."""

    def __init__(self, json: bool):
        self.json = json

    def __call__(self, event: str, message: str, **fields) -> None:
        if self.json:
            import json

            print(json.dumps({"event": event, "message": message, **fields}, ensure_ascii=False), flush=True)
        else:
            print(message, flush=True)


class _Supervisor:
    """Two child processes, gunicorn and `sohoa watch`, and this process between them.

    Why children and not one process: gunicorn's arbiter and the watch service each own
    SIGINT/SIGTERM and fork workers of their own (the watch service forks only while it has
    no threads); neither can share a process with the other. gunicorn runs as
    `python -m gunicorn`, its documented way, serving web.wsgi on the socket made here.

    Each child has a process group of its own: Ctrl-C at the terminal reaches this process
    only, which asks each child once (a second Ctrl-C to the watch service means "do not
    wait for the documents in hand"). Should this process be killed, the kernel sends each
    child SIGTERM (PR_SET_PDEATHSIG): nothing is left running behind it.
    """

    def __init__(self, home, listener: socket.socket, grace: float, say: _Console, *, verbose: bool, json: bool):
        self.home = home
        self.listener = listener
        self.grace = grace
        self.say = say
        self.verbose = verbose
        self.json = json
        self.stop_signals = 0
        self.children: dict[str, subprocess.Popen] = {}

    def _environment(self) -> dict:
        environment = dict(os.environ)
        environment["SOHOA_HOME"] = str(self.home.root)
        environment["DJANGO_SETTINGS_MODULE"] = "web.settings"
        return environment

    def _gunicorn(self) -> list[str]:
        fd = self.listener.fileno()
        return [sys.executable, "-m", "gunicorn", "web.wsgi:application", "--bind", f"fd://{fd}",
                "--workers", str(WEB_WORKERS), "--worker-class", "gthread", "--threads", str(WEB_THREADS),
                "--graceful-timeout", str(WEB_GRACE_SECONDS), "--timeout", "120",
                "--error-logfile", str(self.home.root / "logs" / WEB_LOG), "--log-level", "info",
                "--name", "sohoa-web",
                # gunicorn's control socket sits at one per-user path ($HOME/.gunicorn): two homes
                # served by one user would fight over it, and nothing here uses it
                "--no-control-socket"]

    def _watch(self) -> list[str]:
        command = [sys.executable, "-m", "commands.main", "--home", str(self.home.root), "watch"]
        return command + (["--json"] if self.json else []) + (["-v"] if self.verbose else [])

    def _start(self, name: str, command: list[str], pass_fds=()) -> None:
        self.children[name] = subprocess.Popen(command, env=self._environment(), process_group=0,
                                               pass_fds=pass_fds, preexec_fn=_die_with_parent)

    def run(self, address: tuple[str, int], has_users: bool) -> int:
        wake_reader, wake_writer = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        previous_wakeup = signal.set_wakeup_fd(wake_writer)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._start("web", self._gunicorn(), pass_fds=(self.listener.fileno(),))
            self.listener.close()  # gunicorn holds it now
            self._start("watch", self._watch())
            self._announce(address, has_users)
            return self._wait(wake_reader)
        finally:
            for name, child in self.children.items():
                if child.poll() is None:  # an error of ours above: never leave one behind
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(previous_wakeup)
            os.close(wake_reader)
            os.close(wake_writer)

    def _announce(self, address: tuple[str, int], has_users: bool) -> None:
        host, port = address
        shown_host = socket.gethostname() if host in ("0.0.0.0", "::") else host
        shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
        url = f"http://{shown_host}:{port}/"
        root = self.home.root
        if has_users:
            login = f"Đăng nhập bằng tài khoản của mình; thêm người dùng: sohoa --home {root} user add TÊN --role cán-bộ"
        else:
            login = (f"Chưa có người dùng nào: tạo quản trị viên đầu tiên: sohoa --home {root} user add quantri "
                     "--role quản-trị (mật khẩu nhập khi được hỏi)")
        scope = ("chỉ máy này mở được; mở cho mạng nội bộ: --bind 0.0.0.0:8000"
                 if host in ("127.0.0.1", "::1", "localhost") else "các máy trong mạng nội bộ mở được")
        self.say("web-started", f"Trang web sohoa: {url}  ({scope})\n  {login}\n  Dừng cả trang web và dịch vụ "
                 "theo dõi thư mục: Ctrl-C", url=url, pid=self.children["web"].pid)

    def _on_signal(self, signum, frame) -> None:
        self.stop_signals += 1

    def _wait(self, wake_reader: int) -> int:
        pidfds = {os.pidfd_open(child.pid): name for name, child in self.children.items()}
        asked = 0
        failed: tuple[str, int] | None = None
        deadline = None
        try:
            while True:
                codes = {name: child.poll() for name, child in self.children.items()}
                if asked == 0:
                    ended = [(name, code) for name, code in codes.items() if code is not None]
                    if ended:  # one ended on its own: stop the other
                        failed = ended[0]
                        deadline = time.monotonic() + self.grace + WEB_GRACE_SECONDS + 30
                        self._stop(quick=False)
                        asked = self.stop_signals = max(self.stop_signals, 1)
                if all(code is not None for code in codes.values()):
                    break
                if self.stop_signals > asked:  # Ctrl-C or SIGTERM: ask both children
                    if asked == 0:
                        self.say("stopping", "Đang dừng trang web và dịch vụ theo dõi thư mục…")
                        deadline = time.monotonic() + self.grace + WEB_GRACE_SECONDS + 30
                    self._stop(quick=asked > 0)
                    asked = self.stop_signals
                if deadline is not None and time.monotonic() > deadline:
                    for child in self.children.values():
                        if child.poll() is None:
                            os.killpg(child.pid, signal.SIGKILL)
                ready, _, _ = select.select([wake_reader, *pidfds], [], [], 1.0)
                if wake_reader in ready:
                    try:
                        while os.read(wake_reader, 512):
                            pass
                    except BlockingIOError:
                        pass
        finally:
            for fd in pidfds:
                os.close(fd)
        if failed is not None:
            raise UserError(self._failure(*failed))
        # Stopped by our SIGTERM before it had set its handler: a stop, not a failure.
        broken = {name: child.returncode for name, child in self.children.items()
                  if child.returncode not in (0, -signal.SIGTERM)}
        if broken:
            raise UserError("; ".join(self._failure(name, code, stopping=True) for name, code in broken.items()))
        self.say("stopped", "Đã dừng trang web và dịch vụ theo dõi thư mục.")
        return EXIT_OK

    def _stop(self, *, quick: bool) -> None:
        # gunicorn: SIGTERM lets requests under way finish, SIGQUIT does not wait. The watch
        # service: the first SIGTERM finishes the documents in hand, a second does not wait
        # (SIGTERM, not SIGINT: one arriving before its handler is set ends it quietly, not
        # with a KeyboardInterrupt traceback; it is made to survive a stop at any point).
        for name, child in self.children.items():
            if child.poll() is None:
                sig = signal.SIGQUIT if quick and name == "web" else signal.SIGTERM
                try:
                    os.kill(child.pid, sig)
                except ProcessLookupError:
                    pass

    def _failure(self, name: str, code: int, *, stopping: bool = False) -> str:
        how = f"bị tín hiệu {signal.Signals(-code).name} dừng" if code < 0 else f"mã thoát {code}"
        logs = self.home.root / "logs"
        if name == "web":
            what = f"trang web (gunicorn) đã dừng bất thường ({how}); chi tiết trong {logs / WEB_LOG}"
            other = "đã dừng cả dịch vụ theo dõi thư mục"
        else:
            what = (f"dịch vụ theo dõi thư mục đã dừng bất thường ({how}); lý do ở dòng báo lỗi phía trên "
                    f"hoặc trong {logs / 'sohoa.log'}")
            other = "đã dừng cả trang web"
        return what if stopping else f"{what}; {other}"


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when serve's process ends, however it ends."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


# -- sohoa user -----------------------------------------------------------------------------


def _read_password(args, *, confirm: bool) -> str:
    """The password: stdin with --password-stdin; else $SOHOA_PASSWORD when set; else stdin
    when it is not a terminal (a pipe, a file); else asked at the terminal (twice, unseen)."""
    if getattr(args, "password_stdin", False) or (not sys.stdin.isatty() and PASSWORD_VARIABLE not in os.environ):
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            raise UserError("không đọc được mật khẩu từ đầu vào chuẩn (trống); ví dụ: "
                            "printf '%s\\n' \"$MAT_KHAU\" | sohoa user ... --password-stdin")
        return password
    if os.environ.get(PASSWORD_VARIABLE):
        return os.environ[PASSWORD_VARIABLE]
    import getpass

    password = getpass.getpass("Mật khẩu: ")
    if confirm and getpass.getpass("Nhập lại mật khẩu: ") != password:
        raise UserError("hai lần nhập mật khẩu không giống nhau; chưa đổi gì, hãy chạy lại")
    return password


def _check_password(password: str, user) -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user)
    except ValidationError as refused:
        raise UserError(f"mật khẩu không dùng được: {' '.join(str(m) for m in refused.messages)} "
                        "Chưa thay đổi gì; hãy chọn mật khẩu khác") from None


def _parse(kind, text: str | None):
    if text is None:
        return None
    try:
        return kind.parse(text)
    except ValueError as refused:
        raise UserError(str(refused)) from None


def _grant(user, role) -> None:
    """Administrators get Django's admin (/quan-tri/); nobody else does."""
    from core.roles import Role

    user.is_staff = user.is_superuser = role is Role.QUAN_TRI


def _describe(user) -> dict:
    from core.confidentiality import Level
    from core.roles import Role
    from core.models import StaffProfile

    profile = StaffProfile.objects.filter(user_id=user.pk).first()
    role = Role(profile.role) if profile else None
    clearance = Level(profile.clearance) if profile else None
    return {
        "username": user.username,
        "role": role.slug if role else None,
        "role_label": role.label if role else None,
        "clearance": clearance.slug if clearance is not None else None,
        "active": user.is_active,
        "admin": user.is_superuser,
        "last_login": user.last_login.isoformat() if user.last_login else None,
    }


def _line(described: dict) -> str:
    role = described["role_label"] or ("quản trị (không hồ sơ)" if described["admin"] else "chưa có vai trò")
    clearance = (described["clearance"] or "").replace("-", " ") or "—"
    state = "" if described["active"] else ", ĐÃ KHÓA"
    return f"{described['username']}: {role}, mức mật được xem: {clearance}{state}"


def _user(name: str):
    from django.contrib.auth.models import User

    try:
        return User.objects.get(username=name)
    except User.DoesNotExist:
        raise UserError(f"không có người dùng «{name}»; xem danh sách: sohoa user list") from None


def cmd_user_add(args) -> int:
    from core.confidentiality import Level

    from core.roles import Role

    role = _parse(Role, args.role)
    clearance = _parse(Level, args.clearance) or Level.THUONG
    home = open_home(args)
    _web_django(home)
    from django.contrib.auth.models import User
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from core.models import StaffProfile

    try:
        User.username_validator(args.name)
    except ValidationError:
        raise UserError(f"tên đăng nhập «{args.name}» không dùng được: chỉ chữ, số và các dấu @ . + - _ "
                        "(không có khoảng trắng)") from None
    if User.objects.filter(username=args.name).exists():
        raise UserError(f"đã có người dùng «{args.name}»; đổi vai trò: sohoa user set {args.name} --role ..., "
                        f"đổi mật khẩu: sohoa user password {args.name}")
    user = User(username=args.name)
    password = _read_password(args, confirm=True)
    _check_password(password, user)
    user.set_password(password)
    _grant(user, role)
    with transaction.atomic():
        user.save()
        StaffProfile.objects.create(user=user, role=role.value, clearance=int(clearance))
    described = _describe(user)
    if args.json:
        print_json(described)
    else:
        print(f"✓ Đã tạo người dùng {_line(described)}")
    return EXIT_OK


def cmd_user_list(args) -> int:
    home = open_home(args)
    _web_django(home)
    from django.contrib.auth.models import User

    users = [_describe(user) for user in User.objects.order_by("username")]
    if args.json:
        print_json(users)
    elif not users:
        print(f"Chưa có người dùng nào. Thêm: sohoa --home {home.root} user add TÊN --role cán-bộ")
    else:
        print("\n".join(_line(described) for described in users))
    return EXIT_OK


def cmd_user_set(args) -> int:
    from core.confidentiality import Level
    from core.roles import Role

    role = _parse(Role, args.role)
    clearance = _parse(Level, args.clearance)
    if role is None and clearance is None and not args.disable and not args.enable:
        raise UserError("không có gì để đổi; dùng --role, --clearance, --disable hoặc --enable")
    home = open_home(args)
    _web_django(home)
    from django.db import transaction

    from core.models import StaffProfile

    user = _user(args.name)
    with transaction.atomic():
        profile = StaffProfile.objects.filter(user_id=user.pk).first()
        if profile is None:
            if role is None:
                raise UserError(f"người dùng «{args.name}» chưa có vai trò; hãy đặt cả --role")
            profile = StaffProfile(user=user, role=role.value, clearance=int(Level.THUONG))
        if role is not None:
            profile.role = role.value
            _grant(user, role)
        if clearance is not None:
            profile.clearance = int(clearance)
        if args.disable:
            user.is_active = False  # every session of theirs stops working at its next request
        if args.enable:
            user.is_active = True
        profile.save()
        user.save()
    described = _describe(user)
    if args.json:
        print_json(described)
    else:
        print(f"✓ Đã đổi người dùng {_line(described)}")
    return EXIT_OK


def cmd_user_password(args) -> int:
    home = open_home(args)
    _web_django(home)
    user = _user(args.name)
    password = _read_password(args, confirm=True)
    _check_password(password, user)
    user.set_password(password)
    user.save()
    from axes.utils import reset

    reset(username=user.username)  # a login locked out by failed tries works again at once
    if args.json:
        print_json({**_describe(user), "password_changed": True})
    else:
        print(f"✓ Đã đổi mật khẩu của «{user.username}»; các lần đăng nhập sai trước đó được xóa")
    return EXIT_OK

