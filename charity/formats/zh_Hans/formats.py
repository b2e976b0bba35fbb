# Django's Chinese defaults, with amounts grouped by thousands as Chinese financial documents print them
# (¥1,200.00), and ISO dates in tables.
from django.conf.locale.zh_Hans.formats import *  # noqa: F401,F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
SHORT_DATE_FORMAT = "Y-m-d"
