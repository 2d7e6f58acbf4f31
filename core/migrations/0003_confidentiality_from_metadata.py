"""documents.confidentiality from the marks records already hold.

Migration 0002 added the column with 0 (thường) for every row, but a home archived before
it may hold records whose metadata says "MẬT", "TỐI MẬT" (the header reader's stamp) or a
level set by hand. Upgrading must not make any of them public: each row takes the level of
its mark, a mark not understood counts as mật, and a level already higher is kept.
"""

import json

from django.db import migrations

BATCH = 2000


def _mark_level(metadata_json: str) -> int:
    from core.confidentiality import Level

    try:
        metadata = json.loads(metadata_json) if metadata_json else {}
    except ValueError:
        return int(Level.THUONG)  # unreadable metadata has no mark to read; fixity reports it
    return int(Level.of_mark(metadata.get("confidentiality") if isinstance(metadata, dict) else None))


def confidentiality_from_metadata(apps, schema_editor):
    Document = apps.get_model("core", "Document")
    documents = Document.objects.using(schema_editor.connection.alias)
    after = 0
    while True:
        rows = list(documents.filter(id__gt=after).order_by("id")
                    .values_list("id", "confidentiality", "metadata_json")[:BATCH])
        if not rows:
            return
        for document_id, level, metadata_json in rows:
            found = _mark_level(metadata_json)
            if found > (level or 0):
                documents.filter(id=document_id).update(confidentiality=found)
        after = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_web_tables"),
    ]

    operations = [
        migrations.RunPython(confidentiality_from_metadata, migrations.RunPython.noop, elidable=False),
    ]
