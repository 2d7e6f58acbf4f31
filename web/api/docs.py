"""/api/docs/: the API's reference as a plain page in Vietnamese, drawn on the server from
the same OpenAPI schema /api/schema/ serves. Swagger UI and Redoc need script from a CDN
or vendored bundles; the offices are offline and the CSP allows no inline script, so the
page is HTML only."""

from __future__ import annotations

import functools

from django.shortcuts import render

METHODS = ("get", "post", "put", "patch", "delete")


@functools.lru_cache(maxsize=1)
def endpoints() -> tuple[dict, ...]:
    """(path, method, summary, description, parameters, responses) from the generated schema;
    built once per process: the schema changes only with the code."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema.get("paths", {}).items():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            responses = []
            for code, response in operation.get("responses", {}).items():
                kinds = ", ".join(response.get("content", {}).keys())
                responses.append({"code": code, "description": response.get("description", ""), "kinds": kinds})
            found.append({
                "path": path, "method": method.upper(), "summary": operation.get("summary", ""),
                "description": operation.get("description", ""),
                "parameters": [{"name": p["name"], "where": {"query": "tham số", "path": "trong địa chỉ"}.get(
                    p["in"], p["in"]), "description": p.get("description", ""), "required": p.get("required", False)}
                    for p in operation.get("parameters", [])],
                "responses": responses,
            })
    # Search first: where a caller starts; the document's addresses after it.
    return tuple(sorted(found, key=lambda endpoint: (endpoint["path"] != "/api/search", endpoint["path"])))


def api_docs(request):
    return render(request, "web/api_docs.html", {"endpoints": endpoints()})
