"""The search page (/): the whole page, or only its results region when htmx asks."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from web.permissions import Action, require
from web.search import search_documents


def wants_partial(request) -> bool:
    """htmx swapping a region asks for the region only; a history restore after a cache
    miss wants the whole page."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


@require_GET
@require(Action.SEARCH)
def search_page(request):
    page = search_documents(request.user, request.GET)
    partial = wants_partial(request)
    context = {"page": page, "params": page.params, "partial": partial}
    template = "web/search_results.html" if partial else "web/search.html"
    response = render(request, template, context)
    # The same address answers a region or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response
