from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is evidence, so not even staff edit or delete it here."""

    list_display = ("created", "action", "actor_username", "competition_slug", "target", "ip", "request_id")
    list_filter = ("action",)
    search_fields = ("competition_slug", "actor_username", "target", "request_id")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
