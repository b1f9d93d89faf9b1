from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "careweave.referrals"
    label = "referrals"
