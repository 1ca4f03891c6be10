# The order fixtures live in orders/tests/fixtures.py, loaded for the whole suite by the
# root conftest (pytest_plugins); they are re-exported here for modules that import them.
from orders.tests.fixtures import MONEY, coat, hng, order_body, receive, sec, tshirt, utr, watch  # noqa: F401
