from django.urls import path

from demo import views

urlpatterns = [
    path("cached/", views.cached, name="cached"),
    path("visits/", views.visits, name="visits"),
]
