"""Settings for backoffice, read from the environment (django-environ).

Two modes:
- embedded (no DATABASE_URL / REDIS_URL): SQLite in var/ tuned for several processes and
  a file-based Celery broker in var/, so `make run` works on a bare machine;
- served (DATABASE_URL / REDIS_URL set): PostgreSQL and Redis.
"""

import datetime
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

INSECURE_DEFAULT_SECRET_KEY = "django-insecure-backoffice-development-key-never-use-in-production"  # noqa: S105

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
if not DEBUG and SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. With DEBUG off the app refuses to start on the insecure default key."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Demo mode: seed_demo may create staff users with generated passwords (printed by `make run`).
DEMO_MODE = env.bool("DEMO_MODE", default=DEBUG)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (CSP: no CDN)
    "csp",
    "drf_standardized_errors",
    "django_celery_beat",
    "simple_history",
    "import_export",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "core",
    "customers",
    "catalog",
    "inventory",
    "orders",
    "payments",
    "returns",
    "helpdesk",
    "carriers",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "core.middleware.NulCharacterMiddleware",  # before anything looks a value up in the database
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.StaffTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "admin:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "db.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Several processes (web, worker, beat) share one file: WAL lets readers run beside
    # one writer, the busy timeout waits for the writer instead of failing, and
    # IMMEDIATE transactions take the write lock up front (no upgrade deadlocks).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, broker, Celery ------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "backoffice",
            # a dead Redis answers within a second instead of hanging a request
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        # publishing while Redis is down fails fast; the outbox keeps the work
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
        "max_retries": 1,
    }
    CELERY_BROKER_CONNECTION_TIMEOUT = 2
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    CELERY_BROKER_DIR = VAR_DIR / "celery" / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }

CELERY_TIMEZONE = "Europe/Amsterdam"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True

# --- auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SAVE_EVERY_REQUEST = True  # the timeout counts from the last request (idle timeout)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]

# Lock-out after repeated failed logins (django-axes), per username and address together,
# so one person's typos do not lock out a colleague behind the same office IP.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.views.login_locked_out"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0) or None
if AXES_IPWARE_PROXY_COUNT:
    # behind that many reverse proxies the client's address is in X-Forwarded-For
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# Two-factor authentication (django-otp, TOTP) for Finance, Manager and superusers (core.twofactor).
STAFF_OTP_REQUIRED = env.bool("STAFF_OTP_REQUIRED", default=True)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Backoffice")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # nobody reads another person's TOTP secret in the admin

# The audit trail is read-only: a change goes through a service, never back through history.
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- i18n -----------------------------------------------------------------------------
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True
CURRENCY = "EUR"

# --- static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- mail -----------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Backoffice <noreply@backoffice.example.nl>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
BUYER_EMAIL = env.str("BUYER_EMAIL", default="inkoop@backoffice.example.nl")

# --- the seller, as printed on invoices (NL-RULES §3) -----------------------------------
SELLER = {
    "name": env.str("SELLER_NAME", default="Backoffice Demo B.V."),
    "street": env.str("SELLER_STREET", default="Oudegracht 1"),
    "postal_code": env.str("SELLER_POSTAL_CODE", default="3511 AA"),
    "city": env.str("SELLER_CITY", default="Utrecht"),
    "country": env.str("SELLER_COUNTRY", default="NL"),
    "vat_number": env.str("SELLER_VAT_NUMBER", default="NL000099998B57"),
    "kvk_number": env.str("SELLER_KVK_NUMBER", default="12345678"),
    "iban": env.str("SELLER_IBAN", default="NL91ABNA0417164300"),
    "bic": env.str("SELLER_BIC", default="ABNANL2A"),
    "email": env.str("SELLER_EMAIL", default="info@backoffice.example.nl"),
}

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.IsApiClient"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.UpdatedCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.ApiKeyRateThrottle", "core.api.throttling.AnonymousRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env.str("API_THROTTLE_RATE", default="1200/min"),
        "anonymous": env.str("API_ANON_THROTTLE_RATE", default="60/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    # The client address for per-address budgets (anonymous calls, payment webhooks) is
    # REMOTE_ADDR, or with AXES_IPWARE_PROXY_COUNT proxies in front the address they saw:
    # never an X-Forwarded-For the client wrote itself.
    "NUM_PROXIES": AXES_IPWARE_PROXY_COUNT or 0,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "core.api.errors.ContractExceptionHandler",
    "EXCEPTION_FORMATTER_CLASS": "core.api.errors.ContractExceptionFormatter",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": False,
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "415", "429"],
    # One documented shape for every 400 (the contract's), whatever field or service raised it.
    "ERROR_SCHEMAS": {"400": "core.api.schema.ErrorResponseSerializer"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "backoffice API",
    "DESCRIPTION": (
        "The integration contract (v1) for webshops, fulfilment centres and operators. "
        "Authenticate with `Authorization: Token <key>`; every 4xx has the body "
        '`{"type": ..., "errors": [{"code", "detail", "attr"}]}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
    ],
}

# --- security -------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content Security Policy (django-csp): scripts only from our own origin, no inline
# script, no framing, no plugins. Inline style attributes are allowed (the admin uses them).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- logging: one JSON line per event, with the request id ------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
    },
}

# CSV/XLSX exports never hand a spreadsheet a formula (=cmd|…) from imported data.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

# --- carriers: track & trace (carriers/conf.py has the defaults) ------------------------
CARRIER_BACKEND = env.str("CARRIER_BACKEND", default="simulator")  # or "live"
CARRIER_BACKENDS = env.dict("CARRIER_BACKENDS", default={})  # per carrier, e.g. postnl=live
CARRIER_HTTP_CONNECT_TIMEOUT = env.float("CARRIER_HTTP_CONNECT_TIMEOUT", default=5.0)
CARRIER_HTTP_READ_TIMEOUT = env.float("CARRIER_HTTP_READ_TIMEOUT", default=20.0)
CARRIER_DEFAULT_RETRY_AFTER = env.int("CARRIER_DEFAULT_RETRY_AFTER", default=60)
CARRIER_BACKOFF_BASE_SECONDS = env.int("CARRIER_BACKOFF_BASE_SECONDS", default=30)
CARRIER_BACKOFF_MAX_SECONDS = env.int("CARRIER_BACKOFF_MAX_SECONDS", default=3600)
CARRIER_QUOTAS = env.json("CARRIER_QUOTAS", default={})
CARRIER_SIMULATOR_FAULTS = env.json("CARRIER_SIMULATOR_FAULTS", default={})
POSTNL_API_KEY = env.str("POSTNL_API_KEY", default="")
POSTNL_CUSTOMER_NUMBER = env.str("POSTNL_CUSTOMER_NUMBER", default="")
POSTNL_BASE_URL = env.str("POSTNL_BASE_URL", default="https://api-sandbox.postnl.nl")
DHL_API_KEY = env.str("DHL_API_KEY", default="")
DHL_BASE_URL = env.str("DHL_BASE_URL", default="https://api-test.dhl.com")
DHL_ECOMMERCE_USER_ID = env.str("DHL_ECOMMERCE_USER_ID", default="")
DHL_ECOMMERCE_API_KEY = env.str("DHL_ECOMMERCE_API_KEY", default="")
DHL_ECOMMERCE_BASE_URL = env.str("DHL_ECOMMERCE_BASE_URL", default="https://api-gw-accept.dhlparcel.nl")
DPD_DELIS_ID = env.str("DPD_DELIS_ID", default="")
DPD_PASSWORD = env.str("DPD_PASSWORD", default="")
DPD_BASE_URL = env.str("DPD_BASE_URL", default="https://shipperadmintest.dpd.nl/PublicAPI")
DPD_MESSAGE_LANGUAGE = env.str("DPD_MESSAGE_LANGUAGE", default="nl_NL")
GLS_CLIENT_ID = env.str("GLS_CLIENT_ID", default="")
GLS_CLIENT_SECRET = env.str("GLS_CLIENT_SECRET", default="")
GLS_BASE_URL = env.str("GLS_BASE_URL", default="https://api-sandbox.gls-group.net")
GLS_LANGUAGE = env.str("GLS_LANGUAGE", default="EN")

# --- payments: providers (payments/conf.py has the defaults) ---------------------------
PAYMENT_PROVIDER_BACKEND = env.str("PAYMENT_PROVIDER_BACKEND", default="simulator")  # or "live"
MOLLIE_API_KEY = env.str("MOLLIE_API_KEY", default="")
PAYMENT_SIMULATOR_EXPIRY_MINUTES = env.int("PAYMENT_SIMULATOR_EXPIRY_MINUTES", default=15)
BANK_STATEMENT_MAX_BYTES = env.int("BANK_STATEMENT_MAX_BYTES", default=50 * 1024 * 1024)

# Data read on every request that rarely changes (API keys, business rules, VAT rates) is
# kept per process this many seconds (core.localcache); 0 turns it off.
LOCAL_CACHE_SECONDS = env.int("LOCAL_CACHE_SECONDS", default=15)

# --- domain defaults that are not business rules (those live in staff-editable rows) ----
ORDER_NUMBER_DIGITS = 6
API_KEY_PREFIX = "bo"
