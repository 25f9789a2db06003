from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """django.contrib.admin with the back office's site as `admin.site`."""

    default_site = "reconciliation.backoffice.site.BackOfficeSite"
