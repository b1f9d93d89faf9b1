"""Django settings, read from the environment.

Defaults give the embedded demo (SQLite beside the working directory). Production sets
DATABASE_URL, SECRET_KEY and DEBUG=false; a production run without SECRET_KEY fails loudly.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent  # src/careweave


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the {name} environment variable (see dotenv-sample).")
    return value


DEBUG = env("DEBUG", "false").lower() in {"1", "true", "yes"}
# CAREWEAVE_ENV=production makes SECRET_KEY and DATABASE_URL mandatory; the embedded demo needs neither.
PRODUCTION = env("CAREWEAVE_ENV", "development") == "production"
if PRODUCTION and DEBUG:
    # Django's debug pages show settings, SQL and local variables (tokens, patient data) to any caller.
    raise ImproperlyConfigured("DEBUG must be false when CAREWEAVE_ENV=production.")
SECRET_KEY = env("SECRET_KEY", None if PRODUCTION else "careweave-insecure-development-key")
ALLOWED_HOSTS = env("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", None if PRODUCTION else f"sqlite:///{Path.cwd() / 'careweave.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web server read while an import writes; a busy timeout instead of 'database is locked'.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }

# The largest request body read (a FHIR transaction of one person's full history is a few MB: the
# shared Synthea bundles reach 2.67 MB); over it the answer is 413 (careweave.web.input_guard).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(env("CAREWEAVE_MAX_REQUEST_BYTES", str(32 * 1024 * 1024)))

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "careweave.record",
    "careweave.governance",
    "careweave.fhir",
    "careweave.segmentation",
    "careweave.referrals",
    "careweave.ui",
    "careweave.care",
    "careweave.huddles",
    "careweave.reviews",
    "careweave.medicines",
    "careweave.web",
    "django_tasks",
    "django_tasks_db",
    "careweave.jobs",
    "careweave.questionnaires",
    "careweave.monitoring",
    "careweave.portal",
    "careweave.contact",
]

# The task queue (ADR 0015): the database backend by default (no other service); production may name
# another Django tasks backend here, whose own workers then run the tasks (`careweave worker` still
# schedules them).
TASKS = {"default": {"BACKEND": env("CAREWEAVE_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}
# The local hour the worker enqueues the nightly population refresh (segmentation, worklists)
CAREWEAVE_REFRESH_HOUR = int(env("CAREWEAVE_REFRESH_HOUR", "2"))
# The only folder `POST /fhir/$import` may read files from (a manifest's file:// URLs or paths)
CAREWEAVE_IMPORT_DIR = Path(env("CAREWEAVE_IMPORT_DIR", str(BASE_DIR.parent.parent / "imports"))).resolve()

MIDDLEWARE = [
    "careweave.web.middleware.ServerTimingMiddleware",  # first, so it times everything below it
    "django.middleware.security.SecurityMiddleware",
    "careweave.web.security_headers.SecurityHeadersMiddleware",  # CSP and no-store on every response
    "careweave.web.input_guard.InputGuardMiddleware",  # NUL bytes and deep JSON refused with 400
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "careweave.config.urls"
WSGI_APPLICATION = "careweave.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,  # each app's templates in its own jinja2/ folder
        "OPTIONS": {"environment": "careweave.config.jinja2_env.environment"},
    },
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(8 * 60 * 60)))  # a working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# Lax, not Strict: a link to a record from an e-mail or another system still arrives signed in, while
# cross-site POSTs carry no cookies.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "careweave.web.errors.csrf_failure"  # the NHS.UK-styled page, not Django's

# Security headers (SecurityMiddleware); the Content-Security-Policy is careweave.web.security_headers.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # URLs carry record ids and searches (?q=NHS number)
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Tokens and cookies never reach an error page, even with DEBUG on in development.
DEFAULT_EXCEPTION_REPORTER_FILTER = "careweave.web.security_headers.SecretsExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "careweave.web.security_headers.SecretsExceptionReporter"

# Behind a proxy, the header it appends the client's address to (e.g. X-Forwarded-For), so sign-in
# throttling counts each client and not the proxy; unset, REMOTE_ADDR is the client.
_address_header = env("CAREWEAVE_CLIENT_ADDRESS_HEADER", "").strip()
CLIENT_ADDRESS_HEADER = "HTTP_" + _address_header.upper().replace("-", "_") if _address_header else ""

if PRODUCTION:
    # Production is served over HTTPS only. The __Host- prefix makes browsers refuse the cookies
    # over plain HTTP, from another path or set by a sibling subdomain.
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 24 * 60 * 60)))  # a year
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading is a commitment for the whole registrable domain (e.g. nhs.uk), the domain owner's
    # decision rather than this application's, so it is opt-in and its deploy check is silenced.
    SECURE_HSTS_PRELOAD = env("SECURE_HSTS_PRELOAD", "false").lower() in {"1", "true", "yes"}
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # Behind a proxy that terminates TLS, name the header it sets, e.g. "X-Forwarded-Proto: https".
    # Only set it when the proxy always overwrites that header, or a client could claim HTTPS.
    _proxy_header = env("SECURE_PROXY_SSL_HEADER", "").strip()
    if _proxy_header:
        _name, _, _value = _proxy_header.partition(":")
        SECURE_PROXY_SSL_HEADER = ("HTTP_" + _name.strip().upper().replace("-", "_"), _value.strip() or "https")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
NODE_MODULES = (
    BASE_DIR.parent.parent / "node_modules"
)  # `make assets` (npm ci) fills it from package-lock.json
# Served as /static/careweave.css, /static/nhsuk/... (NHS.UK frontend CSS, JS, icons) and /static/htmx/...
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [BASE_DIR / "web" / "static"]
# `make assets` builds the NHS.UK styles without the web font (web/scss/nhsuk.scss): found first, so
# it is served in place of the package's prebuilt nhsuk/nhsuk-frontend.min.css.
BUILT_ASSETS = BASE_DIR.parent.parent / ".assets"
if (BUILT_ASSETS / "nhsuk").exists():
    STATICFILES_DIRS.append(BUILT_ASSETS)
if (NODE_MODULES / "nhsuk-frontend" / "dist").exists():
    STATICFILES_DIRS.append(NODE_MODULES / "nhsuk-frontend" / "dist")
if (NODE_MODULES / "htmx.org" / "dist").exists():
    STATICFILES_DIRS.append(("htmx", NODE_MODULES / "htmx.org" / "dist"))
STATIC_ROOT = Path(env("STATIC_ROOT", str(Path.cwd() / ".static")))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Logs carry ids and counts, never names, NHS numbers or free text (see DEVELOPERS.md).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}

# The person's own view (issue 16, ADR 0019). Sign-in codes go to the local outbox (the embedded
# default, shown on the sign-in page) or, with "email", through Django's mail settings.
CAREWEAVE_PORTAL_CODE_DELIVERY = env("CAREWEAVE_PORTAL_CODE_DELIVERY", "outbox")
# A real identity provider (NHS login, or any OpenID Connect provider) for the person's view: set the
# issuer's authorisation endpoint and the client registered with it; unset, local accounts only.
CAREWEAVE_OIDC_AUTHORIZATION_ENDPOINT = env("CAREWEAVE_OIDC_AUTHORIZATION_ENDPOINT", "")
CAREWEAVE_OIDC_TOKEN_ENDPOINT = env("CAREWEAVE_OIDC_TOKEN_ENDPOINT", "")
CAREWEAVE_OIDC_ISSUER = env("CAREWEAVE_OIDC_ISSUER", "")
CAREWEAVE_OIDC_CLIENT_ID = env("CAREWEAVE_OIDC_CLIENT_ID", "")
CAREWEAVE_OIDC_REDIRECT_URI = env("CAREWEAVE_OIDC_REDIRECT_URI", "")
CAREWEAVE_OIDC_SCOPES = env("CAREWEAVE_OIDC_SCOPES", "openid profile email")
# Contacting people (issue 18, ADR 0020): GOV.UK Notify. The default is the local stand-in server
# (`python -m careweave.contact.notify_standin`), never a real host; production sets a live key and
# https://api.notifications.service.gov.uk. The key's service id and secret sign each request.
CAREWEAVE_NOTIFY_BASE_URL = env("CAREWEAVE_NOTIFY_BASE_URL", "http://127.0.0.1:6011")
CAREWEAVE_NOTIFY_API_KEY = env(
    "CAREWEAVE_NOTIFY_API_KEY",
    "" if PRODUCTION else "careweave_standin-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0",
)
# Notify template ids (each a template whose body is ((body))): one for text messages, one for emails
CAREWEAVE_NOTIFY_SMS_TEMPLATE = env("CAREWEAVE_NOTIFY_SMS_TEMPLATE", "f33517ff-2a88-4f6e-b855-c550268ce08a")
CAREWEAVE_NOTIFY_EMAIL_TEMPLATE = env("CAREWEAVE_NOTIFY_EMAIL_TEMPLATE", "a7a7ee8e-0e0d-4f4e-9b76-6e6ba2b0c8c5")
# The bearer token Notify sends with its delivery-status callbacks (set the same in Notify's settings)
# (production without one refuses every callback; without an API key nothing is sent through Notify)
CAREWEAVE_NOTIFY_CALLBACK_TOKEN = env("CAREWEAVE_NOTIFY_CALLBACK_TOKEN", "" if PRODUCTION else "careweave-standin-callback")
# Hours an app message may stay unread before the next channel is tried (NHS Notify's fallback)
CAREWEAVE_CONTACT_UNREAD_HOURS = int(env("CAREWEAVE_CONTACT_UNREAD_HOURS", "24"))
