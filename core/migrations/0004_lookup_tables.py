"""The lookup tables an administrator keeps (document types, retention periods), seeded
from the static tables the code had until now, which stay the fallback without a database.

The seed copies the tables as they are at this migration, so a later change to the static
tables does not silently rewrite what an administrator has edited.
"""

from django.db import migrations, models

DOCUMENT_TYPES = {
    "NQ": "Nghị quyết", "QĐ": "Quyết định", "CT": "Chỉ thị", "QC": "Quy chế", "QyĐ": "Quy định",
    "TC": "Thông cáo", "TB": "Thông báo", "HD": "Hướng dẫn", "CTr": "Chương trình",
    "KH": "Kế hoạch", "PA": "Phương án", "ĐA": "Đề án", "DA": "Dự án", "BC": "Báo cáo",
    "BB": "Biên bản", "TTr": "Tờ trình", "HĐ": "Hợp đồng", "CĐ": "Công điện",
    "BGN": "Bản ghi nhớ", "BTT": "Bản thỏa thuận", "GUQ": "Giấy ủy quyền", "GM": "Giấy mời",
    "GGT": "Giấy giới thiệu", "GNP": "Giấy nghỉ phép", "PG": "Phiếu gửi", "PC": "Phiếu chuyển",
    "PB": "Phiếu báo", "SY": "Bản sao y", "TrS": "Bản trích sao", "SL": "Bản sao lục",
    "NĐ": "Nghị định", "TT": "Thông tư", "TTLT": "Thông tư liên tịch", "L": "Luật",
}
RETENTION = {"01": "Vĩnh viễn", "02": "70 năm", "03": "50 năm", "04": "30 năm", "05": "20 năm", "06": "10 năm"}


def seed(apps, schema_editor):
    alias = schema_editor.connection.alias
    DocumentType = apps.get_model("core", "DocumentType")
    RetentionPeriod = apps.get_model("core", "RetentionPeriod")
    DocumentType.objects.using(alias).bulk_create(
        [DocumentType(symbol=symbol, name=name, active=True) for symbol, name in DOCUMENT_TYPES.items()])
    RetentionPeriod.objects.using(alias).bulk_create(
        [RetentionPeriod(code=code, label=label, active=True) for code, label in RETENTION.items()])


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0003_confidentiality_from_metadata"),
    ]

    operations = [
        migrations.CreateModel(
            name="DocumentType",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("symbol", models.TextField(unique=True)),
                ("name", models.TextField()),
                ("active", models.BooleanField(default=True)),
            ],
            options={"db_table": "document_types"},
        ),
        migrations.CreateModel(
            name="RetentionPeriod",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("code", models.TextField(unique=True)),
                ("label", models.TextField()),
                ("active", models.BooleanField(default=True)),
            ],
            options={"db_table": "retention_periods"},
        ),
        migrations.RunPython(seed, migrations.RunPython.noop, elidable=False),
    ]
