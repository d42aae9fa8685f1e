from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("", include("config.web_urls")),
]

handler403 = "config.web_errors.permission_denied"
