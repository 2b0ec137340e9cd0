"""Settings of the Cairn example: Django's cache and sessions on Cairn.

The cache is django-redis pointed at a Cairn server, exactly as at a Redis
server. CAIRN_URL says which (default redis://127.0.0.1:6379/0); with a
password and a database: redis://:s3cret@127.0.0.1:6379/1.
"""
import os

SECRET_KEY = "example-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.sessions",
    "demo",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
]
ROOT_URLCONF = "cairnsite.urls"
USE_TZ = True

# No SQL database: everything this site keeps is in the cache.
DATABASES = {}

# --- Cairn: copy from here -------------------------------------------------
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ.get("CAIRN_URL", "redis://127.0.0.1:6379/0"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
        },
    }
}
# Sessions live in the cache (Cairn logs every write, so they survive a
# restart of the server).
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_CACHE_ALIAS = "default"
# --- to here ----------------------------------------------------------------
