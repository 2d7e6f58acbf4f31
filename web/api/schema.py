"""The API's token scheme as OpenAPI describes it (drf-spectacular asks an extension for
every authentication class it does not know)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "web.api_auth.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "«Token <mã>»; mã do quản trị cấp bằng: sohoa token add NGƯỜI_DÙNG --name TÊN"}
