"""Two views: one whole page cached with @cache_page, one counting a
session's visits (sessions on the cache backend)."""
import itertools

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import cache_page

# Counts the times the cached view really ran (not served from the cache).
renders = itertools.count(1)


@cache_page(60)
def cached(request):
    return HttpResponse("rendered %d" % next(renders), content_type="text/plain")


def visits(request):
    n = request.session.get("visits", 0) + 1
    request.session["visits"] = n
    return JsonResponse({"visits": n})
