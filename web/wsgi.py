"""The WSGI application gunicorn serves (`sohoa serve`): Django set up with web.settings for
the home in $SOHOA_HOME, the home's database brought to the current schema first."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

from web.startup import prepare_database  # noqa: E402

prepare_database()
