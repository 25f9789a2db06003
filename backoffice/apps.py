from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BackOfficeConfig(AppConfig):
    """The finance back office: a door whose admin pages call down into the services."""

    name = "backoffice"


class BackOfficeAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the back office's site as `admin.site`."""

    default = False
    default_site = "backoffice.site.BackOfficeSite"
