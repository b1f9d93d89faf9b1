from django.urls import include, path

from careweave.fhir import api

urlpatterns = [
    path("fhir", api.root, name="fhir-root"),
    path("fhir/", include("careweave.fhir.urls")),
    path("care/", include("careweave.care.urls")),
    path("huddles/", include("careweave.huddles.urls")),
    path("questionnaires/", include("careweave.questionnaires.urls")),
    path("home-readings/", include("careweave.monitoring.urls")),
    path("my/", include("careweave.portal.urls")),
    path("online-access/", include("careweave.portal.staff_urls")),
    path("contact/", include("careweave.contact.urls")),
    path("reviews/", include("careweave.reviews.urls")),
    path("medicines/", include("careweave.medicines.urls")),
    path("", include("careweave.web.urls")),
]

# NHS.UK-styled error pages (and OperationOutcomes under /fhir) instead of Django's bare ones.
handler400 = "careweave.web.errors.bad_request"
handler403 = "careweave.web.errors.forbidden"
handler404 = "careweave.web.errors.not_found"
handler500 = "careweave.web.errors.server_error"
