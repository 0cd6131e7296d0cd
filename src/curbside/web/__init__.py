"""The web interface: HTML pages and the /api/v1 JSON API, thin translations over the services."""

from curbside.web.app import create_app

__all__ = ["create_app"]
