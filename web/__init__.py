"""The web application (Django 5.2, server-rendered, htmx): staff search and read, archivists
check, administrators manage. A service over the recipe, like watch_folders/."""
